-- The worker: jobs for the embedded runner, worker heartbeats, single-use flow tokens (email
-- links), invitations, and the record of each verified backup.

-- Embedded storage (PGlite) cannot run graphile-worker; its in-process runner uses this table.
-- On Postgres graphile-worker keeps its own schema (graphile_worker) and this table stays empty.
CREATE TABLE jobs (
  id bigserial PRIMARY KEY,
  task text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  run_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 10,
  last_error text,
  job_key text UNIQUE,
  locked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE locked_at IS NULL;

-- Each Gatehouse worker process writes its graphile worker ids here every few seconds; a process
-- that stops writing (SIGKILL, lost host) has its jobs unlocked by the others (graphile-worker
-- itself would wait four hours).
CREATE TABLE worker_heartbeats (
  process_id text PRIMARY KEY,
  worker_ids text[] NOT NULL DEFAULT '{}',
  seen_at timestamptz NOT NULL DEFAULT now()
);

-- Links sent by email (recovery, email verification): only the SHA-256 of the key is stored.
CREATE TABLE flow_tokens (
  key_hash bytea PRIMARY KEY,
  user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  flow_slug text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('recovery', 'verification')),
  expires timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flow_tokens_user ON flow_tokens (user_id);
CREATE INDEX flow_tokens_expires ON flow_tokens (expires);

-- Authentik's invitations: a link to an enrollment flow, optionally single-use, expiring, with
-- fixed prompt data (fixed_data) and a group the new user joins.
CREATE TABLE invitations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (name ~ '^[-a-zA-Z0-9_]{1,50}$'),
  expires timestamptz,
  fixed_data jsonb NOT NULL DEFAULT '{}',
  single_use boolean NOT NULL DEFAULT false,
  flow_slug text,
  group_id uuid,
  created_by integer REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Every backup and the result of its restore check.
CREATE TABLE backup_runs (
  id bigserial PRIMARY KEY,
  file_name text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  size_bytes bigint,
  is_verified boolean,
  detail jsonb NOT NULL DEFAULT '{}'
);

-- An argon2 hash of a random password written just before each backup; the restore check
-- verifies the password kept in the encrypted backup's manifest against the restored hash
-- (src/worker/backup/verify.ts). It belongs to no user and opens nothing.
CREATE TABLE backup_canary (
  is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
