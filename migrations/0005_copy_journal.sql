-- Crash safety (SPEC §4, §7): intent recorded before a provider copy is made, so that a gateway
-- killed mid-upload leaves nothing behind once an instance runs again. One row per provider copy
-- being made; removed once the copy is either recorded (managed_file_copies / provider_files) or
-- taken back. An instance renews the lease of its own rows while it runs; a row whose lease has
-- passed belongs to a dead instance and is reconciled by the sweeper (FOR UPDATE SKIP LOCKED).
-- Deletes need no row here: a managed file is marked 'deleting' (with a lease in
-- next_attempt_at) before any provider delete, and the sweeper finishes it. Postgres 15 compatible.
CREATE TABLE IF NOT EXISTS provider_copy_journal (
  id                bigserial PRIMARY KEY,
  deployment_id     text NOT NULL,              -- deployment id, or the files_settings instance of a plain upload
  provider          text NOT NULL,
  provider_file_id  text,                       -- known once the provider answered (or chosen up front: gs:// URIs)
  filename          text NOT NULL,
  bytes             bigint,                     -- null when streamed with an unknown length
  instance_id       text NOT NULL,              -- the gateway process that owns the upload
  lease_until       timestamptz NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS provider_copy_journal_lease_idx ON provider_copy_journal (lease_until);
CREATE INDEX IF NOT EXISTS provider_copy_journal_instance_idx ON provider_copy_journal (instance_id);
