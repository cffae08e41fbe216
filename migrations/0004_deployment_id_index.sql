-- Default deployment ids no longer hash secrets (SPEC §1.1). Rows stored under an id an older
-- version derived are re-keyed at startup (and periodically, for instances of the older version
-- still running during a rolling upgrade) by src/persistence/deployment-rekey.ts: the old id can
-- only be recomputed from the config, which SQL here cannot see. This index keeps that pass and
-- every per-deployment lookup of copies cheap.
CREATE INDEX IF NOT EXISTS managed_file_copies_deployment_idx ON managed_file_copies (deployment_id);
