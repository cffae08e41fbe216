-- Keys, users and raw provider-file ownership (SPEC §2). Postgres 15 compatible.
CREATE TABLE IF NOT EXISTS users (
  user_id     text PRIMARY KEY,
  user_role   text NOT NULL DEFAULT 'internal_user',
  team_id     text,
  models      text[] NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_keys (
  token_hash  text PRIMARY KEY,              -- sha256 hex of the key; the plaintext is never stored
  key_name    text NOT NULL,                 -- "sk-…abcd", for display
  key_alias   text,
  user_id     text REFERENCES users(user_id) ON DELETE CASCADE,
  team_id     text,
  models      text[] NOT NULL DEFAULT '{}',
  metadata    jsonb NOT NULL DEFAULT '{}',
  expires_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS api_keys_user_idx ON api_keys (user_id);

-- Raw provider files uploaded through the gateway by a non-admin, so only their owner reaches them.
CREATE TABLE IF NOT EXISTS provider_files (
  provider          text NOT NULL,
  provider_file_id  text NOT NULL,
  owner_id          text NOT NULL,
  team_id           text,
  purpose           text NOT NULL,
  file_object       jsonb NOT NULL,            -- the FileObject at upload, for owner-scoped lists
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, provider_file_id)
);
CREATE INDEX IF NOT EXISTS provider_files_owner_idx ON provider_files (provider, owner_id, created_at DESC, provider_file_id DESC);
CREATE INDEX IF NOT EXISTS provider_files_team_idx ON provider_files (provider, team_id, created_at DESC, provider_file_id DESC);
