-- The background fine-tuning refresher (SPEC §6, like batches in 0004): unfinished jobs are leased
-- with FOR UPDATE SKIP LOCKED by one instance at a time, looked at again after next_refresh_at,
-- with backoff after failures. Postgres 15 compatible.
ALTER TABLE fine_tuning_jobs ADD COLUMN IF NOT EXISTS next_refresh_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE fine_tuning_jobs ADD COLUMN IF NOT EXISTS lease_owner text;
ALTER TABLE fine_tuning_jobs ADD COLUMN IF NOT EXISTS lease_until timestamptz;
ALTER TABLE fine_tuning_jobs ADD COLUMN IF NOT EXISTS refresh_failures integer NOT NULL DEFAULT 0;
ALTER TABLE fine_tuning_jobs ADD COLUMN IF NOT EXISTS last_error text;
CREATE INDEX IF NOT EXISTS fine_tuning_jobs_unfinished_idx ON fine_tuning_jobs (next_refresh_at)
  WHERE status NOT IN ('succeeded', 'failed', 'cancelled');
