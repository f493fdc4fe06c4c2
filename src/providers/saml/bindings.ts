import { createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SamlError } from './errors.ts';
import { MAX_XML_BYTES } from './xml.ts';

// The two bindings' encodings (SAML Bindings §3.4 HTTP-Redirect, §3.5 HTTP-POST) and the
// Redirect binding's query-string signature, which is checked over the query exactly as sent.

export type MessageParam = 'SAMLRequest' | 'SAMLResponse';

/** Signature algorithms accepted on what an SP sends: SHA-2 only. */
export const QUERY_SIG_ALGS: Readonly<Record<string, string>> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'RSA-SHA256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'RSA-SHA512',
};
/** What Gatehouse signs with, by the provider's signature_algorithm. */
export const SIGNING_HASHES: Readonly<Record<string, string>> = {
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'RSA-SHA1',
  ...QUERY_SIG_ALGS,
};

export interface RedirectMessage {
  xml: string;
  relayState: string | null;
  signature: { sigAlg: string; signature: Buffer; signedOctets: string } | null;
}

const decodeComponent = (raw: string): string => {
  try {
    return decodeURIComponent(raw.replace(/\+/g, '%20'));
  } catch {
    throw new SamlError('malformed', 'The query string is not properly encoded.');
  }
};

function base64(text: string, what: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new SamlError('malformed', `${what} is not valid base64.`);
  return Buffer.from(compact, 'base64');
}

function inflate(bytes: Buffer, param: MessageParam): string {
  try {
    return inflateRawSync(bytes, { maxOutputLength: MAX_XML_BYTES }).toString('utf8');
  } catch {
    throw new SamlError('malformed', `${param} could not be inflated.`);
  }
}

/** A Redirect-binding message from the raw query string (no decoding before the signature check). */
export function decodeRedirect(rawQuery: string, param: MessageParam): RedirectMessage {
  const raw = new Map<string, string>();
  for (const pair of rawQuery.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq);
    if (raw.has(key)) throw new SamlError('malformed', `${key} appears more than once.`);
    raw.set(key, pair.slice(eq + 1));
  }
  const message = raw.get(param);
  if (!message) throw new SamlError('malformed', `${param} is missing.`);
  const xml = inflate(base64(decodeComponent(message), param), param);
  const relay = raw.get('RelayState');
  const sigAlg = raw.get('SigAlg');
  const signature = raw.get('Signature');
  // §3.4.4.1: the signed octets are these parameters, in this order, as they were encoded.
  const signedOctets = [`${param}=${message}`, ...(relay !== undefined ? [`RelayState=${relay}`] : []), `SigAlg=${sigAlg ?? ''}`].join('&');
  return {
    xml,
    relayState: relay === undefined ? null : decodeComponent(relay),
    signature:
      sigAlg !== undefined && signature !== undefined
        ? { sigAlg: decodeComponent(sigAlg), signature: base64(decodeComponent(signature), 'Signature'), signedOctets }
        : null,
  };
}

export function verifyRedirectSignature(message: RedirectMessage, certificatePem: string): void {
  if (!message.signature) throw new SamlError('unsigned', 'This service provider must sign its requests.');
  const algorithm = QUERY_SIG_ALGS[message.signature.sigAlg];
  if (!algorithm) throw new SamlError('bad_signature', 'The signature algorithm is not accepted.');
  const verifier = createVerify(algorithm);
  verifier.update(message.signature.signedOctets);
  if (!verifier.verify(createPublicKey(certificatePem), message.signature.signature)) {
    throw new SamlError('bad_signature', 'The request signature does not verify.');
  }
}

/** A POST-binding message: plain base64 of the XML. */
export function decodePost(body: unknown, param: MessageParam): { xml: string; relayState: string | null } {
  const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const message = form[param];
  if (typeof message !== 'string' || message === '') throw new SamlError('malformed', `${param} is missing.`);
  const bytes = base64(message, param);
  if (bytes.length > MAX_XML_BYTES) throw new SamlError('malformed', `${param} is too large.`);
  const relay = form.RelayState;
  // §3.5.4 says plain base64, but some SPs (node-saml by default) deflate over POST as well.
  const text = bytes.toString('utf8');
  return { xml: /^\s*</.test(text) ? text : inflate(bytes, param), relayState: typeof relay === 'string' ? relay : null };
}

/** `url` with a deflated message, RelayState and, when a key is given, the query signature. */
export function encodeRedirect(
  url: string,
  param: MessageParam,
  xml: string,
  relayState: string | null,
  signing?: { key: KeyObject; sigAlg: string },
): string {
  const parts = [`${param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`];
  if (relayState) parts.push(`RelayState=${encodeURIComponent(relayState)}`);
  if (signing) {
    parts.push(`SigAlg=${encodeURIComponent(signing.sigAlg)}`);
    const signer = createSign(SIGNING_HASHES[signing.sigAlg] ?? 'RSA-SHA256');
    signer.update(parts.join('&'));
    parts.push(`Signature=${encodeURIComponent(signer.sign(signing.key).toString('base64'))}`);
  }
  return `${url}${url.includes('?') ? '&' : '?'}${parts.join('&')}`;
}
