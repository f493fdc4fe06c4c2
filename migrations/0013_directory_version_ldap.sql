-- LDAP outposts poll a digest of the directory (users, groups, memberships, who may search it)
-- twice a second; computing it reads every row (~13 ms of Postgres at 10,000 users). Each core
-- process now keeps the last digest under a key that must move on everything the digest covers:
-- directory_version (migration 0005's triggers, and here the grants behind search_full_directory)
-- and a count of the user writes 0005 does not see: new users, password changes (outposts drop
-- cached binds on them) and a user's type (service accounts are not in the directory).
-- Logins only touch last_login, which moves nothing.
-- The user writes are counted in 16 rows picked by backend: one counter row would make every
-- transaction that creates a user (or sets a password) wait for the others to commit — user
-- creation at 32 concurrent went from ~1,700/s to ~1,000/s that way.
CREATE TABLE directory_user_changes (
  stripe smallint PRIMARY KEY CHECK (stripe BETWEEN 0 AND 15),
  changes bigint NOT NULL DEFAULT 0
);
INSERT INTO directory_user_changes (stripe) SELECT generate_series(0, 15);
CREATE FUNCTION count_directory_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE directory_user_changes SET changes = changes + 1 WHERE stripe = pg_backend_pid() % 16;
  RETURN NULL;
END;
$$;
CREATE TRIGGER users_inserted_directory_change AFTER INSERT ON users
  FOR EACH STATEMENT EXECUTE FUNCTION count_directory_user_change();
CREATE TRIGGER users_password_directory_change AFTER UPDATE OF password_change_date, type ON users
  FOR EACH STATEMENT EXECUTE FUNCTION count_directory_user_change();
CREATE TRIGGER group_roles_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_roles
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER permission_assignments_directory_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON permission_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
