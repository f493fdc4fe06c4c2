import { randomBytes } from 'node:crypto';
import { DOMImplementation, XMLSerializer } from '@xmldom/xmldom';
import { SP_ENTITY } from './spHarness.ts';

// SP messages crafted node by node for the tests that node-saml cannot send (POST logout,
// malformed and malicious requests).

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

export const newId = () => `_${randomBytes(12).toString('hex')}`;

function message(name: string, attributes: Record<string, string>, issuer: string) {
  const doc = new DOMImplementation().createDocument(SAMLP, `samlp:${name}`, null);
  const root = doc.documentElement as unknown as Element;
  root.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:saml', SAML);
  for (const [key, value] of Object.entries({ ID: newId(), Version: '2.0', IssueInstant: new Date().toISOString(), ...attributes })) {
    root.setAttribute(key, value);
  }
  const issuerElement = doc.createElementNS(SAML, 'saml:Issuer');
  issuerElement.appendChild(doc.createTextNode(issuer));
  root.appendChild(issuerElement as unknown as Node);
  return { doc, root };
}

export function logoutRequestXml(o: { destination: string; nameId: string; sessionIndex: string; issuer?: string; commentInNameId?: boolean }) {
  const { doc, root } = message('LogoutRequest', { Destination: o.destination }, o.issuer ?? SP_ENTITY);
  const nameId = doc.createElementNS(SAML, 'saml:NameID');
  if (o.commentInNameId) {
    const [head, tail] = [o.nameId.slice(0, 3), o.nameId.slice(3)];
    nameId.appendChild(doc.createTextNode(head));
    nameId.appendChild(doc.createComment('x'));
    nameId.appendChild(doc.createTextNode(tail));
  } else {
    nameId.appendChild(doc.createTextNode(o.nameId));
  }
  root.appendChild(nameId as unknown as Node);
  const index = doc.createElementNS(SAMLP, 'samlp:SessionIndex');
  index.appendChild(doc.createTextNode(o.sessionIndex));
  root.appendChild(index as unknown as Node);
  return new XMLSerializer().serializeToString(doc);
}

export function authnRequestXml(o: { destination?: string; acs?: string; issuer?: string; id?: string; issueInstant?: string }) {
  const attributes: Record<string, string> = { ProtocolBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST' };
  if (o.destination) attributes.Destination = o.destination;
  if (o.acs) attributes.AssertionConsumerServiceURL = o.acs;
  if (o.id) attributes.ID = o.id;
  if (o.issueInstant) attributes.IssueInstant = o.issueInstant;
  const { doc } = message('AuthnRequest', attributes, o.issuer ?? SP_ENTITY);
  return new XMLSerializer().serializeToString(doc);
}
