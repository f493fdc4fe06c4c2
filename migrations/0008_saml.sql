-- SAML 2.0 providers (Authentik's SAMLProvider fields). Each provider owns its signing key pair:
-- the private key sealed with the signing-key box, the self-signed certificate in clear (it is
-- published in the IdP metadata).

CREATE TABLE saml_providers (
  provider_id integer PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
  acs_url text NOT NULL CHECK (length(acs_url) BETWEEN 1 AND 2000),
  issuer text NOT NULL DEFAULT 'authentik' CHECK (length(issuer) BETWEEN 1 AND 2000),
  audience text NOT NULL DEFAULT '' CHECK (length(audience) <= 2000),
  sp_binding text NOT NULL DEFAULT 'redirect' CHECK (sp_binding IN ('redirect', 'post')),
  sls_url text NOT NULL DEFAULT '' CHECK (length(sls_url) <= 2000),
  sls_binding text NOT NULL DEFAULT 'redirect' CHECK (sls_binding IN ('redirect', 'post')),
  default_relay_state text NOT NULL DEFAULT '' CHECK (length(default_relay_state) <= 80),
  name_id_mapping text CHECK (name_id_mapping IN ('username', 'email', 'uid', 'hashed_user_id')),
  digest_algorithm text NOT NULL DEFAULT 'http://www.w3.org/2001/04/xmlenc#sha256',
  signature_algorithm text NOT NULL DEFAULT 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  assertion_valid_not_before text NOT NULL DEFAULT 'minutes=-5',
  assertion_valid_not_on_or_after text NOT NULL DEFAULT 'minutes=5',
  session_valid_not_on_or_after text NOT NULL DEFAULT 'minutes=86400',
  sign_assertion boolean NOT NULL DEFAULT true,
  sign_response boolean NOT NULL DEFAULT false,
  signing_key_encrypted text NOT NULL,
  signing_certificate text NOT NULL,
  -- The SP's certificate: when set, its requests must be signed with it.
  verification_certificate text,
  -- The SP's encryption certificate: when set, assertions are encrypted to it.
  encryption_certificate text
);
