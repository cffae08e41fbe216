-- Fine-tuning jobs (SPEC §6): one row per unified `ftjob-` id, owner-scoped like managed files.
-- Postgres 15 compatible.
CREATE TABLE IF NOT EXISTS fine_tuning_jobs (
  id                 text PRIMARY KEY,                 -- ftjob-uf_…
  owner_id           text NOT NULL,
  team_id            text,
  provider           text NOT NULL,
  deployment_id      text NOT NULL,                    -- the deployment whose model was tuned (chat routes here)
  plain              boolean NOT NULL DEFAULT false,   -- raw provider file ids: result files stay raw ids recorded as the owner's
  runs_on            text,                             -- plain jobs: the deployment whose account holds the files (model-routed upload); null = the provider's files account
  model_name         text NOT NULL,                    -- the public model_name the caller named
  provider_job_id    text NOT NULL,
  training_file      text NOT NULL,                    -- as the caller named it (unified or raw id)
  validation_file    text,
  status             text NOT NULL,
  fine_tuned_model   text,
  job_object         jsonb NOT NULL,                   -- the provider's last answer (provider ids)
  created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (provider, deployment_id, provider_job_id)
);
CREATE INDEX IF NOT EXISTS fine_tuning_jobs_owner_idx ON fine_tuning_jobs (owner_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS fine_tuning_jobs_team_idx ON fine_tuning_jobs (team_id, created_at DESC, id DESC) WHERE team_id IS NOT NULL;
-- Chat finds a fine-tuned model by name; one name belongs to one job.
CREATE UNIQUE INDEX IF NOT EXISTS fine_tuning_jobs_model_idx ON fine_tuning_jobs (fine_tuned_model) WHERE fine_tuned_model IS NOT NULL;

-- A job's result files as the gateway serves them: made once per provider file (the primary key),
-- however many retrieves race to do it.
CREATE TABLE IF NOT EXISTS fine_tuning_result_files (
  job_id            text NOT NULL REFERENCES fine_tuning_jobs (id) ON DELETE CASCADE,
  provider_file_id  text NOT NULL,
  file_id           text NOT NULL,                     -- managed unified id, or the raw id for plain jobs
  position          integer NOT NULL,
  PRIMARY KEY (job_id, provider_file_id)
);
