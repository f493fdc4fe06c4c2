-- LDAP providers (Authentik's LDAPProvider fields) and outposts: the separate processes that
-- serve a protocol for some providers, each with a service account and an API token of its own.

CREATE TABLE ldap_providers (
  provider_id integer PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
  base_dn text NOT NULL DEFAULT 'DC=ldap,DC=goauthentik,DC=io' CHECK (length(base_dn) BETWEEN 1 AND 500),
  -- Members (and superusers) see the whole directory; everyone else sees only themselves.
  search_group_id uuid REFERENCES groups (id) ON DELETE SET NULL,
  uid_start_number integer NOT NULL DEFAULT 2000 CHECK (uid_start_number >= 0),
  gid_start_number integer NOT NULL DEFAULT 4000 CHECK (gid_start_number >= 0),
  mfa_support boolean NOT NULL DEFAULT true,
  bind_mode text NOT NULL DEFAULT 'cached' CHECK (bind_mode IN ('cached', 'direct')),
  search_mode text NOT NULL DEFAULT 'cached' CHECK (search_mode IN ('cached', 'direct'))
);
CREATE UNIQUE INDEX ldap_providers_base_dn ON ldap_providers (lower(base_dn));

CREATE TABLE outposts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  type text NOT NULL CHECK (type IN ('ldap', 'proxy')),
  -- The account its token belongs to; deleting either deletes the other (and the token).
  service_account_id integer NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  config jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outpost_providers (
  outpost_id uuid NOT NULL REFERENCES outposts (id) ON DELETE CASCADE,
  provider_id integer NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
  PRIMARY KEY (outpost_id, provider_id)
);
CREATE INDEX outpost_providers_provider ON outpost_providers (provider_id);
