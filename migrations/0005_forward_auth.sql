-- Proxy (forward auth) providers, a counter that moves whenever who-may-see-what changes, and
-- per-hour access counts.

CREATE TABLE proxy_providers (
  provider_id integer PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
  mode text NOT NULL DEFAULT 'forward_single' CHECK (mode IN ('forward_single', 'forward_domain')),
  -- Origin the browser uses: the app's (single) or the login host's (domain), without a trailing slash.
  external_host text NOT NULL CHECK (external_host ~ '^https?://[^/]+$'),
  internal_host text NOT NULL DEFAULT '',
  cookie_domain text NOT NULL DEFAULT '',
  access_token_validity text NOT NULL DEFAULT 'hours=24',
  -- One regular expression per line; a matching path passes without a login.
  skip_path_regex text NOT NULL DEFAULT '',
  CHECK (mode <> 'forward_domain' OR cookie_domain <> '')
);

-- The forward-auth hot path keeps each user's answer (headers, access) in memory and polls this
-- counter: it moves on any change to users' identity or activity, groups, memberships,
-- applications, providers or policies, so a stale answer lives at most one poll.
CREATE TABLE directory_version (
  is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO directory_version DEFAULT VALUES;

CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE directory_version SET version = version + 1;
  RETURN NULL;
END;
$$;

-- Logins write users.last_login: only columns that change an answer move the counter.
CREATE TRIGGER users_directory_version AFTER UPDATE OF username, name, email, is_active, attributes, uuid ON users
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER users_deleted_directory_version AFTER DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER groups_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER group_memberships_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_memberships
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER applications_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON applications
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER providers_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON providers
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER proxy_providers_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON proxy_providers
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policies_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policies
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policy_bindings_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policy_bindings
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

-- Who reached which application, per hour: the forward-auth hot path counts in memory and
-- flushes here every few seconds, so a request never waits on a write.
CREATE TABLE application_access_hours (
  user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  hour timestamptz NOT NULL,
  requests bigint NOT NULL DEFAULT 0,
  last_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (application_id, hour, user_id)
);
CREATE INDEX application_access_hours_user ON application_access_hours (user_id, hour);
