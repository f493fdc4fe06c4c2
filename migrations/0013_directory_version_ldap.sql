-- LDAP outposts poll a digest of the directory (users, groups, memberships, who may search it)
-- twice a second; computing it reads every row (~13 ms of Postgres at 10,000 users). Each core
-- process now keeps the last digest under the value of the directory counter it was computed
-- at, so the counter must move on everything the digest covers: besides migration 0005's
-- triggers, new users, password changes (outposts drop cached binds on them), a user's type
-- (service accounts are not in the directory) and the grants behind search_full_directory.
-- Logins only touch last_login, which moves nothing.
CREATE TRIGGER users_inserted_directory_version AFTER INSERT ON users
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER users_password_directory_version AFTER UPDATE OF password_change_date, type ON users
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER group_roles_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_roles
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER permission_assignments_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON permission_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
