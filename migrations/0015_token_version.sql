-- LDAP outposts present their API token on every call: each bind, and a poll twice a second. The
-- core keeps what a token's lookup found, per process, for as long as nothing that could change
-- the answer moved (src/core/tokens.ts): directory_version (the holder's name, email, activity,
-- groups and so superuser flag: migration 0005's triggers) and this counter, which moves when an
-- API token stops being what it was — deleted (also with its user), its key, intent, holder or
-- expiry changed. Each bump is announced (NOTIFY gatehouse_tokens), as 0011 and 0014 do for the
-- other counters: a revoked token is refused by every replica at its next call.
-- last_used, touched once a minute per token, and new tokens (a lookup that found nothing was
-- never kept) move nothing. Only API tokens count: recovery and verification tokens are consumed
-- (deleted) on use, and none of them is ever kept.
CREATE TABLE token_version (
  is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO token_version DEFAULT VALUES;

CREATE FUNCTION bump_token_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bumped bigint;
BEGIN
  UPDATE token_version SET version = version + 1 RETURNING version INTO bumped;
  PERFORM pg_notify('gatehouse_tokens', bumped::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER api_token_changed AFTER UPDATE OF key_hash, intent, user_id, expiring, expires ON tokens
  FOR EACH ROW WHEN (OLD.intent = 'api') EXECUTE FUNCTION bump_token_version();
CREATE TRIGGER api_token_deleted AFTER DELETE ON tokens
  FOR EACH ROW WHEN (OLD.intent = 'api') EXECUTE FUNCTION bump_token_version();
CREATE TRIGGER tokens_truncated AFTER TRUNCATE ON tokens
  FOR EACH STATEMENT EXECUTE FUNCTION bump_token_version();
