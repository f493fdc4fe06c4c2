import { certificateBody } from '../../core/certificates.ts';
import type { SamlProviderRow } from '../../store/samlProviders.ts';
import { NAMEID_FORMAT } from './identity.ts';
import { appendElement, NS, newDocument, serialize } from './xml.ts';

// The IdP metadata an SP imports: entityID (the provider's issuer), the signing certificate, and
// SSO/SLO endpoints for both bindings, at Authentik's paths.

export const BINDING_URI = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

import { samlPaths } from './paths.ts';

export { samlPaths };

export function buildMetadata(
  provider: Pick<SamlProviderRow, 'issuer' | 'signing_certificate' | 'verification_certificate'>,
  origin: string,
  slug: string,
): string {
  const paths = samlPaths(origin, slug);
  const doc = newDocument(NS.md, 'md:EntityDescriptor');
  const root = doc.documentElement;
  root.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:ds', NS.ds);
  root.setAttribute('entityID', provider.issuer);
  const idp = appendElement(root, NS.md, 'md:IDPSSODescriptor');
  idp.setAttribute('protocolSupportEnumeration', NS.samlp);
  // True exactly when unsigned requests are refused (the provider has the SP's certificate).
  idp.setAttribute('WantAuthnRequestsSigned', String(provider.verification_certificate !== null));

  const keyDescriptor = appendElement(idp, NS.md, 'md:KeyDescriptor');
  keyDescriptor.setAttribute('use', 'signing');
  const keyInfo = appendElement(keyDescriptor, NS.ds, 'ds:KeyInfo');
  const x509Data = appendElement(keyInfo, NS.ds, 'ds:X509Data');
  appendElement(x509Data, NS.ds, 'ds:X509Certificate', certificateBody(provider.signing_certificate));

  // SAML metadata schema order: SingleLogoutService, NameIDFormat, SingleSignOnService.
  for (const [binding, location] of [
    [BINDING_URI.redirect, paths.sloRedirect],
    [BINDING_URI.post, paths.sloPost],
  ] as const) {
    const slo = appendElement(idp, NS.md, 'md:SingleLogoutService');
    slo.setAttribute('Binding', binding);
    slo.setAttribute('Location', location);
  }
  for (const format of [NAMEID_FORMAT.email, NAMEID_FORMAT.persistent, NAMEID_FORMAT.x509, NAMEID_FORMAT.windows, NAMEID_FORMAT.transient]) {
    appendElement(idp, NS.md, 'md:NameIDFormat', format);
  }
  for (const [binding, location] of [
    [BINDING_URI.redirect, paths.ssoRedirect],
    [BINDING_URI.post, paths.ssoPost],
  ] as const) {
    const sso = appendElement(idp, NS.md, 'md:SingleSignOnService');
    sso.setAttribute('Binding', binding);
    sso.setAttribute('Location', location);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>${serialize(doc)}`;
}
