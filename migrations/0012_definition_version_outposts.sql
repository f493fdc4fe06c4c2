-- The LDAP bind route asks, on every bind, whether the calling outpost serves the provider named
-- in the path. Those rows change as rarely as flows do, so they join the definitions snapshot:
-- any change to providers, LDAP providers, applications, outposts or their provider lists moves
-- the definition counter (and announces it), and each process drops what it remembered.
CREATE TRIGGER providers_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON providers
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER ldap_providers_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ldap_providers
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER applications_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON applications
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER outposts_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON outposts
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
CREATE TRIGGER outpost_providers_definition_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON outpost_providers
  FOR EACH STATEMENT EXECUTE FUNCTION bump_definition_version();
