-- Each bump of directory_version is also announced (NOTIFY gatehouse_directory, with the new
-- value), at commit, as 0011 does for the definition counter: the LDAP directory's digest and
-- forward auth's periodic check then know the current version without reading it every 500 ms
-- (src/store/counterWatch.ts); a forward-auth miss still reads it.
CREATE OR REPLACE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bumped bigint;
BEGIN
  UPDATE directory_version SET version = version + 1 RETURNING version INTO bumped;
  PERFORM pg_notify('gatehouse_directory', bumped::text);
  RETURN NULL;
END;
$$;
