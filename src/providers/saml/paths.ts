// The IdP's endpoint URLs for one application: kept apart from metadata.ts so callers that only
// need the URLs do not load the XML libraries.
export function samlPaths(origin: string, slug: string) {
  const base = `${origin}/application/saml/${slug}`;
  return {
    metadata: `${base}/metadata/`,
    ssoRedirect: `${base}/sso/binding/redirect/`,
    ssoPost: `${base}/sso/binding/post/`,
    ssoInit: `${base}/sso/binding/init/`,
    sloRedirect: `${base}/slo/binding/redirect/`,
    sloPost: `${base}/slo/binding/post/`,
  };
}
