-- Managed files (SPEC §4): one row per unified id, one per deployment copy.
CREATE TABLE IF NOT EXISTS managed_files (
  id                  text PRIMARY KEY,
  owner_id            text NOT NULL,
  team_id             text,
  purpose             text NOT NULL,
  filename            text NOT NULL,
  bytes               bigint NOT NULL,
  mime_type           text NOT NULL,
  target_model_names  text[] NOT NULL,
  status              text NOT NULL DEFAULT 'active',   -- active | deleting
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at          timestamptz,
  delete_attempts     integer NOT NULL DEFAULT 0,
  next_attempt_at     timestamptz,
  last_error          text
);
CREATE INDEX IF NOT EXISTS managed_files_owner_idx ON managed_files (owner_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS managed_files_team_idx ON managed_files (team_id, created_at DESC, id DESC) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS managed_files_created_idx ON managed_files (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS managed_files_expiry_idx ON managed_files (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS managed_files_deleting_idx ON managed_files (next_attempt_at) WHERE status = 'deleting';

CREATE TABLE IF NOT EXISTS managed_file_copies (
  file_id           text NOT NULL REFERENCES managed_files (id) ON DELETE CASCADE,
  deployment_id     text NOT NULL,
  model_name        text NOT NULL,
  provider          text NOT NULL,
  provider_file_id  text NOT NULL,
  transformed       boolean NOT NULL DEFAULT false,  -- bytes differ from the original (batch JSONL model rewrite)
  status            text NOT NULL DEFAULT 'active',  -- active | deleted
  PRIMARY KEY (file_id, deployment_id)
);
CREATE INDEX IF NOT EXISTS managed_file_copies_provider_idx ON managed_file_copies (provider, provider_file_id);

-- Provider copies whose compensating delete failed (an aborted fan-out): retried by the sweeper
-- so no provider object is orphaned.
CREATE TABLE IF NOT EXISTS pending_provider_deletes (
  deployment_id     text NOT NULL,
  provider_file_id  text NOT NULL,
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  last_error        text,
  PRIMARY KEY (deployment_id, provider_file_id)
);
