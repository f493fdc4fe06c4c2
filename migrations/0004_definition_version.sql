-- A counter that moves whenever a flow, stage, binding, policy or application changes, so every
-- process can cache these definitions and know, with one cheap read, when to drop the cache.
CREATE TABLE definition_version (
  is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO definition_version DEFAULT VALUES;

CREATE FUNCTION bump_definition_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE definition_version SET version = version + 1;
  RETURN NULL;
END;
$$;

CREATE TRIGGER flows_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flows
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER stages_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stages
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER flow_stage_bindings_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flow_stage_bindings
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER policies_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policies
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER policy_bindings_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policy_bindings
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
