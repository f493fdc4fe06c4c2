-- Each bump of the definition counter is also announced (NOTIFY gatehouse_definitions, with the
-- new value), at commit: processes that LISTEN know the current version without reading it on
-- every flow request (src/store/counterWatch.ts).
CREATE OR REPLACE FUNCTION bump_definition_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bumped bigint;
BEGIN
  UPDATE definition_version SET version = version + 1 RETURNING version INTO bumped;
  PERFORM pg_notify('gatehouse_definitions', bumped::text);
  RETURN NULL;
END;
$$;
