-- Authentik's RBAC: roles hold permissions, groups carry roles (their members, and the members
-- of their descendant groups, hold what the roles hold), and a user may hold permissions directly.
-- A permission is held on one object (object_pk) or on every object of its model (NULL).

CREATE TABLE roles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 150),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_roles (
  group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, role_id)
);
CREATE INDEX group_roles_role ON group_roles (role_id);

CREATE TABLE permission_assignments (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  role_id uuid REFERENCES roles (id) ON DELETE CASCADE,
  user_id integer REFERENCES users (id) ON DELETE CASCADE,
  -- Authentik's names: app_label.codename, on the model app_label.model.
  app_label text NOT NULL CHECK (length(app_label) BETWEEN 1 AND 100),
  model text NOT NULL CHECK (length(model) BETWEEN 1 AND 100),
  codename text NOT NULL CHECK (length(codename) BETWEEN 1 AND 100),
  object_pk text CHECK (length(object_pk) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((role_id IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX permission_assignments_role ON permission_assignments (role_id, app_label, model, codename, object_pk) NULLS NOT DISTINCT
  WHERE role_id IS NOT NULL;
CREATE UNIQUE INDEX permission_assignments_user ON permission_assignments (user_id, app_label, model, codename, object_pk) NULLS NOT DISTINCT
  WHERE user_id IS NOT NULL;
CREATE INDEX permission_assignments_object ON permission_assignments (app_label, model, codename, object_pk);
