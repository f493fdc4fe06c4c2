import { randomBytes } from 'node:crypto';
import type { SamlProviderRow } from '../../store/samlProviders.ts';
import { encryptAssertion } from './encryption.ts';
import { type SigningSettings, signElement } from './signatures.ts';
import { appendElement, NS, newDocument, serialize } from './xml.ts';

// The IdP's messages, built node by node with DOM calls (never text templates, so a user's name
// or a group can never become markup) and then signed.

export const STATUS = { success: 'urn:oasis:names:tc:SAML:2.0:status:Success' } as const;

/** SAML's xs:ID: must start with a letter or "_". */
export const newSamlId = (): string => `_${randomBytes(20).toString('hex')}`;
const XMLNS = 'http://www.w3.org/2000/xmlns/';
const instant = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface Attribute {
  name: string;
  values: string[];
}

export interface AssertionInput {
  provider: Pick<SamlProviderRow, 'issuer' | 'audience' | 'acs_url' | 'sign_assertion' | 'sign_response' | 'encryption_certificate'>;
  signing: SigningSettings;
  now: Date;
  inResponseTo: string | null;
  nameId: { value: string; format: string };
  sessionIndex: string;
  /** Seconds relative to now (notBefore may be negative). */
  validity: { notBefore: number; notOnOrAfter: number; sessionNotOnOrAfter: number };
  attributes: Attribute[];
}

function issuerOf(parent: Element, issuer: string): void {
  appendElement(parent, NS.saml, 'saml:Issuer', issuer);
}

function statusOf(parent: Element, code: string): void {
  const status = appendElement(parent, NS.samlp, 'samlp:Status');
  appendElement(status, NS.samlp, 'samlp:StatusCode').setAttribute('Value', code);
}

function assertionOf(response: Element, input: AssertionInput): void {
  const at = (seconds: number) => instant(new Date(input.now.getTime() + seconds * 1000));
  const assertion = appendElement(response, NS.saml, 'saml:Assertion');
  // Declared here, not only on the Response: an encrypted assertion is read on its own.
  assertion.setAttributeNS(XMLNS, 'xmlns:xs', NS.xs);
  assertion.setAttributeNS(XMLNS, 'xmlns:xsi', NS.xsi);
  assertion.setAttribute('ID', newSamlId());
  assertion.setAttribute('Version', '2.0');
  assertion.setAttribute('IssueInstant', instant(input.now));
  issuerOf(assertion, input.provider.issuer);

  const subject = appendElement(assertion, NS.saml, 'saml:Subject');
  appendElement(subject, NS.saml, 'saml:NameID', input.nameId.value).setAttribute('Format', input.nameId.format);
  const confirmation = appendElement(subject, NS.saml, 'saml:SubjectConfirmation');
  confirmation.setAttribute('Method', 'urn:oasis:names:tc:SAML:2.0:cm:bearer');
  const data = appendElement(confirmation, NS.saml, 'saml:SubjectConfirmationData');
  data.setAttribute('NotOnOrAfter', at(input.validity.notOnOrAfter));
  data.setAttribute('Recipient', input.provider.acs_url);
  if (input.inResponseTo) data.setAttribute('InResponseTo', input.inResponseTo);

  const conditions = appendElement(assertion, NS.saml, 'saml:Conditions');
  conditions.setAttribute('NotBefore', at(input.validity.notBefore));
  conditions.setAttribute('NotOnOrAfter', at(input.validity.notOnOrAfter));
  if (input.provider.audience) {
    const restriction = appendElement(conditions, NS.saml, 'saml:AudienceRestriction');
    appendElement(restriction, NS.saml, 'saml:Audience', input.provider.audience);
  }

  const authn = appendElement(assertion, NS.saml, 'saml:AuthnStatement');
  authn.setAttribute('AuthnInstant', instant(input.now));
  authn.setAttribute('SessionIndex', input.sessionIndex);
  authn.setAttribute('SessionNotOnOrAfter', at(input.validity.sessionNotOnOrAfter));
  const context = appendElement(authn, NS.saml, 'saml:AuthnContext');
  appendElement(context, NS.saml, 'saml:AuthnContextClassRef', 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');

  if (input.attributes.length > 0) {
    const statement = appendElement(assertion, NS.saml, 'saml:AttributeStatement');
    for (const attribute of input.attributes) {
      const element = appendElement(statement, NS.saml, 'saml:Attribute');
      element.setAttribute('Name', attribute.name);
      element.setAttribute('NameFormat', 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri');
      for (const value of attribute.values) {
        const valueElement = appendElement(element, NS.saml, 'saml:AttributeValue', value);
        valueElement.setAttributeNS(NS.xsi, 'xsi:type', 'xs:string');
      }
    }
  }
}

function responseRoot(name: 'samlp:Response' | 'samlp:LogoutResponse', issuer: string, destination: string, inResponseTo: string | null, now: Date) {
  const doc = newDocument(NS.samlp, name);
  const root = doc.documentElement;
  root.setAttributeNS(XMLNS, 'xmlns:saml', NS.saml);
  root.setAttribute('ID', newSamlId());
  root.setAttribute('Version', '2.0');
  root.setAttribute('IssueInstant', instant(now));
  root.setAttribute('Destination', destination);
  if (inResponseTo) root.setAttribute('InResponseTo', inResponseTo);
  issuerOf(root, issuer);
  return { doc, root };
}

const RESPONSE_XPATH = "/*[local-name(.)='Response']";
const ASSERTION_XPATH = `${RESPONSE_XPATH}/*[local-name(.)='Assertion']`;

/**
 * A <samlp:Response> with one assertion: the assertion signed (sign_assertion), then encrypted
 * (encryption_certificate), then the whole signed (sign_response).
 */
export async function buildResponse(input: AssertionInput): Promise<string> {
  const { doc, root } = responseRoot('samlp:Response', input.provider.issuer, input.provider.acs_url, input.inResponseTo, input.now);
  statusOf(root, STATUS.success);
  assertionOf(root, input);
  let xml = serialize(doc);
  if (input.provider.sign_assertion) xml = signElement(xml, ASSERTION_XPATH, input.signing);
  if (input.provider.encryption_certificate) xml = await encryptAssertion(xml, input.provider.encryption_certificate);
  if (input.provider.sign_response) xml = signElement(xml, RESPONSE_XPATH, input.signing);
  return xml;
}

/** A <samlp:LogoutResponse>; signed in the XML for the POST binding (Redirect signs the query). */
export function buildLogoutResponse(
  issuer: string,
  destination: string,
  inResponseTo: string,
  now: Date,
  code: string,
  signing: SigningSettings | null,
): string {
  const { doc, root } = responseRoot('samlp:LogoutResponse', issuer, destination, inResponseTo, now);
  statusOf(root, code);
  const xml = serialize(doc);
  return signing ? signElement(xml, "/*[local-name(.)='LogoutResponse']", signing) : xml;
}
