-- Per-copy state (SPEC §4): what the provider reported for each deployment's copy. A copy the
-- provider is still processing is waited for before use; a copy the provider expires on its own
-- (Gemini API files, 48 h) is re-made from another copy when next needed. Postgres 15 compatible.
ALTER TABLE managed_file_copies ADD COLUMN IF NOT EXISTS upstream_state text NOT NULL DEFAULT 'active';  -- processing | active | failed
ALTER TABLE managed_file_copies ADD COLUMN IF NOT EXISTS upstream_expires_at timestamptz;                -- when the provider deletes the copy itself
