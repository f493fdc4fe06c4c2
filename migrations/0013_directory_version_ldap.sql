-- LDAP outposts poll a digest of the directory (users, groups, memberships, who may search it)
-- twice a second; computing it reads every row (~13 ms of Postgres at 10,000 users). Each core
-- process now keeps the last digest under the value of the directory counter it was computed
-- at, so the counter must move on everything the digest covers: besides migration 0005's
-- triggers, password changes (outposts drop cached binds on them), a user's type (service
-- accounts are not in the directory) and the grants behind search_full_directory; new users are
-- counted in directory_user_inserts.
-- Logins only touch last_login, which moves nothing.
-- New users are counted apart, in 16 rows picked by backend: one counter row would make every
-- transaction that creates a user wait for the others to commit (user creation at 32 concurrent:
-- ~1,000/s instead of ~1,750/s). The digest's key is directory_version plus their sum.
CREATE TABLE directory_user_inserts (
  stripe smallint PRIMARY KEY CHECK (stripe BETWEEN 0 AND 15),
  inserted bigint NOT NULL DEFAULT 0
);
INSERT INTO directory_user_inserts (stripe) SELECT generate_series(0, 15);
CREATE FUNCTION count_directory_user_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE directory_user_inserts SET inserted = inserted + 1 WHERE stripe = pg_backend_pid() % 16;
  RETURN NULL;
END;
$$;
CREATE TRIGGER users_inserted_directory_version AFTER INSERT ON users
  FOR EACH STATEMENT EXECUTE FUNCTION count_directory_user_inserts();
CREATE TRIGGER users_password_directory_version AFTER UPDATE OF password_change_date, type ON users
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER group_roles_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_roles
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER permission_assignments_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON permission_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
