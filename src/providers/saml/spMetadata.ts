import { normaliseCertificate } from '../../core/certificates.ts';
import { SamlError } from './errors.ts';
import { BINDING_URI } from './metadata.ts';
import { childElements, expectRoot, NS, parseXml, textOnly } from './xml.ts';

// An SP's metadata, read into provider fields (as Authentik's import_metadata does): entityID →
// audience, the first POST (else Redirect) AssertionConsumerService → acs_url and sp_binding,
// SingleLogoutService → sls_url/sls_binding, the signing certificate → verification_certificate.

export interface ImportedSp {
  audience: string;
  acs_url: string;
  sp_binding: 'redirect' | 'post';
  sls_url: string;
  sls_binding: 'redirect' | 'post';
  verification_certificate: string | null;
}

const bindingOf = (uri: string | null): 'redirect' | 'post' | null =>
  uri === BINDING_URI.post ? 'post' : uri === BINDING_URI.redirect ? 'redirect' : null;

function firstEndpoint(sp: Element, localName: string): { url: string; binding: 'redirect' | 'post' } | null {
  const endpoints = childElements(sp, NS.md, localName)
    .map((element) => ({ url: element.getAttribute('Location') ?? '', binding: bindingOf(element.getAttribute('Binding')) }))
    .filter((e): e is { url: string; binding: 'redirect' | 'post' } => e.binding !== null && /^https?:\/\//i.test(e.url));
  return endpoints.find((e) => e.binding === 'post') ?? endpoints[0] ?? null;
}

function signingCertificate(sp: Element): string | null {
  for (const descriptor of childElements(sp, NS.md, 'KeyDescriptor')) {
    const use = descriptor.getAttribute('use');
    if (use && use !== 'signing') continue;
    const certificate = descriptor.getElementsByTagNameNS(NS.ds, 'X509Certificate')[0];
    if (!certificate) continue;
    const pem = normaliseCertificate(textOnly(certificate, 'X509Certificate'));
    if (!pem) throw new SamlError('malformed', 'The signing certificate in the metadata does not parse.');
    return pem;
  }
  return null;
}

export function readSpMetadata(xml: string): ImportedSp {
  const doc = parseXml(xml, 'metadata');
  const root = expectRoot(doc, NS.md, 'EntityDescriptor', 'metadata');
  const entityId = root.getAttribute('entityID') ?? '';
  if (!entityId) throw new SamlError('malformed', 'The metadata has no entityID.');
  const sp = childElements(root, NS.md, 'SPSSODescriptor')[0];
  if (!sp) throw new SamlError('malformed', 'The metadata describes no service provider (SPSSODescriptor).');
  const acs = firstEndpoint(sp, 'AssertionConsumerService');
  if (!acs) throw new SamlError('malformed', 'The metadata has no usable AssertionConsumerService.');
  const slo = firstEndpoint(sp, 'SingleLogoutService');
  return {
    audience: entityId,
    acs_url: acs.url,
    sp_binding: acs.binding,
    sls_url: slo?.url ?? '',
    sls_binding: slo?.binding ?? 'redirect',
    verification_certificate: sp.getAttribute('AuthnRequestsSigned') === 'true' ? signingCertificate(sp) : null,
  };
}
