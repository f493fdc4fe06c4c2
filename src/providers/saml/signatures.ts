import { SignedXml } from 'xml-crypto';
import { SamlError } from './errors.ts';
import { childElements, NS, parseXml } from './xml.ts';

// Enveloped XML signatures. Verifying returns the element the signature covers, re-parsed from
// the bytes it covers (xml-crypto's getSignedReferences(): its README says everything else is to
// be treated as unsigned), so a wrapped document can never put other content in front of us.

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const ACCEPTED_SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);

/**
 * Checks the one signature that must be a direct child of `doc`'s root and cover exactly the
 * root (Reference URI "#<root ID>"), with `certificatePem` only (never a key from KeyInfo).
 * Returns the signed root, parsed again from the signed bytes.
 */
export function verifyEnvelopedSignature(doc: Document, xml: string, certificatePem: string, what: string): Element {
  const root = doc.documentElement;
  const signatures = childElements(root, NS.ds, 'Signature');
  if (signatures.length === 0) throw new SamlError('unsigned', `This service provider must sign its ${what}.`);
  if (signatures.length > 1 || doc.getElementsByTagNameNS(NS.ds, 'Signature').length !== 1) {
    throw new SamlError('bad_signature', `The ${what} carries more than one signature.`);
  }
  const id = root.getAttribute('ID');
  if (!id) throw new SamlError('malformed', `The ${what} has no ID.`);
  const sig = new SignedXml({ publicCert: certificatePem });
  let signedReferences: string[];
  try {
    sig.loadSignature(signatures[0] as Element);
    if (!ACCEPTED_SIGNATURE_ALGORITHMS.has(String(sig.signatureAlgorithm))) throw new Error('signature algorithm not accepted');
    if (!sig.checkSignature(xml)) throw new Error('signature does not verify');
    // Only now are the references the ones from the verified SignedInfo.
    const references = sig.getReferences();
    if (references.length !== 1 || references[0]?.uri !== `#${id}`) throw new Error('the signature does not cover the message');
    signedReferences = sig.getSignedReferences();
  } catch {
    throw new SamlError('bad_signature', `The ${what} signature does not verify.`);
  }
  if (signedReferences.length !== 1) throw new SamlError('bad_signature', `The ${what} signature does not verify.`);
  const signed = parseXml(signedReferences[0] as string, what).documentElement;
  if (signed.getAttribute('ID') !== id || signed.namespaceURI !== root.namespaceURI || signed.localName !== root.localName) {
    throw new SamlError('bad_signature', `The ${what} signature covers another element.`);
  }
  return signed;
}

export interface SigningSettings {
  privateKeyPem: string;
  certificatePem: string;
  signatureAlgorithm: string;
  digestAlgorithm: string;
}

/**
 * Signs the element at `xpath` (it must carry an ID) with an enveloped signature placed right
 * after its Issuer, as the SAML schema orders them.
 */
export function signElement(xml: string, xpath: string, settings: SigningSettings): string {
  const sig = new SignedXml({
    privateKey: settings.privateKeyPem,
    publicCert: settings.certificatePem,
    signatureAlgorithm: settings.signatureAlgorithm,
    canonicalizationAlgorithm: EXC_C14N,
  });
  sig.addReference({ xpath, digestAlgorithm: settings.digestAlgorithm, transforms: [ENVELOPED, EXC_C14N] });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `${xpath}/*[local-name(.)='Issuer' and namespace-uri(.)='${NS.saml}']`, action: 'after' },
  });
  return sig.getSignedXml();
}

