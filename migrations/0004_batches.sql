-- Batches (SPEC §6). One row per unified batch id; the stored OpenAI object is what clients get
-- once the batch is terminal. Postgres 15 compatible.
CREATE TABLE IF NOT EXISTS batches (
  id                 text PRIMARY KEY,                 -- batch_uf_… (core/ids.ts)
  owner_id           text NOT NULL,                    -- the creator (key's user_id, else the key)
  team_id            text,
  deployment_id      text NOT NULL,                    -- the deployment (or files_settings instance) running it
  provider           text NOT NULL,
  provider_batch_id  text NOT NULL,                    -- the provider's own id, never shown to clients
  input_file_id      text NOT NULL,                    -- as the client named it: unified file id or raw provider id
  input_managed      boolean NOT NULL,                 -- input_file_id is a managed (unified) file
  endpoint           text NOT NULL,
  completion_window  text NOT NULL,
  metadata           jsonb,                            -- the client's metadata, kept by the gateway
  status             text NOT NULL,                    -- OpenAI batch status
  batch_object       jsonb NOT NULL,                   -- the OpenAI Batch with unified ids, as last refreshed
  output_reference   text,                             -- the adapter's opaque output reference (ProviderBatch.outputReference)
  error_reference    text,                             -- the adapter's opaque error reference
  created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  refreshed_at       timestamptz,                      -- last successful provider refresh
  next_refresh_at    timestamptz NOT NULL DEFAULT now(), -- when the background refresher looks again
  lease_owner        text,                             -- instance holding the refresh lease
  lease_until        timestamptz,                      -- the lease ends then (a crashed holder loses it)
  refresh_failures   integer NOT NULL DEFAULT 0,
  last_error         text,
  UNIQUE (deployment_id, provider_batch_id)
);
CREATE INDEX IF NOT EXISTS batches_owner_idx ON batches (owner_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS batches_team_idx ON batches (team_id, created_at DESC, id DESC) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS batches_created_idx ON batches (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS batches_unfinished_idx ON batches (next_refresh_at)
  WHERE status NOT IN ('completed', 'failed', 'expired', 'cancelled');
CREATE INDEX IF NOT EXISTS batches_input_idx ON batches (input_file_id)
  WHERE status NOT IN ('completed', 'failed', 'expired', 'cancelled');

-- The managed files made from a batch's output and error references: created once per
-- (batch, kind) whatever the number of concurrent refreshes (the primary key decides).
CREATE TABLE IF NOT EXISTS batch_output_files (
  batch_id            text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  kind                text NOT NULL,                   -- output | error
  provider_reference  text NOT NULL,
  file_id             text NOT NULL UNIQUE,            -- the managed file (purpose batch_output)
  PRIMARY KEY (batch_id, kind)
);

-- How a copy's bytes are read and deleted: 'file' through FilesCapability, 'batch_output'
-- through BatchesCapability.outputContent/deleteOutput (e.g. Vertex prediction shards).
ALTER TABLE managed_file_copies ADD COLUMN IF NOT EXISTS reader text NOT NULL DEFAULT 'file';

-- Model-based routing (x-litellm-model / model): the deployment a plain upload went to, so later
-- calls on its raw id go there too (recorded here, never encoded in the id).
ALTER TABLE provider_files ADD COLUMN IF NOT EXISTS deployment_id text;
