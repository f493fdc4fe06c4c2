import { DOMImplementation, DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SamlError } from './errors.ts';

// The one place SAML XML is parsed and made. Parsing is strict: no DOCTYPE at all (so no DTD,
// no entity expansion, no external entity), any parser warning is an error, and size is bounded.

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xs: 'http://www.w3.org/2001/XMLSchema',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export const MAX_XML_BYTES = 256 * 1024;

/** A parsed document whose root is `localName` in `namespace`; anything else is a SamlError. */
export function parseXml(text: string, what: string): Document {
  if (text.length > MAX_XML_BYTES) throw new SamlError('malformed', `${what} is too large.`);
  // DOCTYPE is how DTDs, entity expansion and external entities get in; SAML never needs one.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new SamlError('malformed', `${what} must not contain a DOCTYPE.`);
  const problems: string[] = [];
  const onProblem = (message: string) => {
    problems.push(message);
  };
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: { warning: onProblem, error: onProblem, fatalError: onProblem } }).parseFromString(
      text,
      'text/xml',
    ) as unknown as Document;
  } catch {
    throw new SamlError('malformed', `${what} is not well-formed XML.`);
  }
  if (problems.length > 0 || !doc?.documentElement) throw new SamlError('malformed', `${what} is not well-formed XML.`);
  return doc;
}

export function expectRoot(doc: Document, namespace: string, localName: string, what: string): Element {
  const root = doc.documentElement;
  if (root.namespaceURI !== namespace || root.localName !== localName) {
    throw new SamlError('malformed', `${what} is not a ${localName}.`);
  }
  return root;
}

/** Element children of `parent` in `namespace` named `localName` (direct children only). */
export function childElements(parent: Element, namespace: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).namespaceURI === namespace && (node as Element).localName === localName) {
      out.push(node as Element);
    }
  }
  return out;
}

/** The only such child, or null; two of them is malformed (a classic wrapping trick). */
export function onlyChild(parent: Element, namespace: string, localName: string): Element | null {
  const found = childElements(parent, namespace, localName);
  if (found.length > 1) throw new SamlError('malformed', `More than one ${localName}.`);
  return found[0] ?? null;
}

/**
 * The text of an element that must hold only text: a comment or child element inside (the
 * NameID-truncation trick, where c14n drops a comment and a naive reader stops at it) is refused.
 */
export function textOnly(element: Element, what: string): string {
  let text = '';
  for (let node = element.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 3 || node.nodeType === 4) text += node.nodeValue ?? '';
    else throw new SamlError('malformed', `${what} must hold only text.`);
  }
  return text.trim();
}

export function newDocument(namespace: string, qualifiedName: string): Document {
  return new DOMImplementation().createDocument(namespace, qualifiedName, null) as unknown as Document;
}

/** Appends <prefix:name> in `namespace` with optional text, returning it. */
export function appendElement(parent: Element, namespace: string, qualifiedName: string, text?: string): Element {
  const doc = parent.ownerDocument as Document;
  const element = doc.createElementNS(namespace, qualifiedName);
  if (text !== undefined) element.appendChild(doc.createTextNode(text));
  parent.appendChild(element);
  return element;
}

export const serialize = (node: Node): string => new XMLSerializer().serializeToString(node as never);
