-- Blueprint instances (Authentik's BlueprintInstance): one row per blueprint Gatehouse applies,
-- either a file (path, relative to the blueprints folder; default/… for the shipped defaults)
-- or content stored here. last_applied_hash is the SHA-256 of the text last applied, so a file
-- that did not change is not parsed or applied again.

CREATE TABLE blueprint_instances (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  path text NOT NULL DEFAULT '' CHECK (length(path) <= 1000),
  content text NOT NULL DEFAULT '' CHECK (length(content) <= 1000000),
  metadata jsonb NOT NULL DEFAULT '{}',
  context jsonb NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  status text NOT NULL DEFAULT 'unknown' CHECK (status IN ('successful', 'warning', 'error', 'orphaned', 'unknown')),
  last_applied timestamptz,
  last_applied_hash text NOT NULL DEFAULT '',
  managed_models text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((path = '') <> (content = ''))
);
-- The folder applier finds a file's instance by its path.
CREATE UNIQUE INDEX blueprint_instances_path ON blueprint_instances (path) WHERE path <> '';
