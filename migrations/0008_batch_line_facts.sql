-- What a managed batch file's lines hold, recorded when they are checked (SPEC §6), and the files
-- each batch's lines name. Postgres 15 compatible.
--
-- batch_line_url: the url every line of a purpose=batch file names (checked at upload, or at the
-- first batch create for a file uploaded before this column existed); NULL = not checked yet.
-- batch_line_files: the managed file ids its lines name (unified ids, each the uploader's).
ALTER TABLE managed_files ADD COLUMN IF NOT EXISTS batch_line_url text;
ALTER TABLE managed_files ADD COLUMN IF NOT EXISTS batch_line_files text[];

-- The managed files a batch's lines name: like its input, they cannot be deleted while it runs.
CREATE TABLE IF NOT EXISTS batch_file_references (
  batch_id  text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  file_id   text NOT NULL,
  PRIMARY KEY (batch_id, file_id)
);
CREATE INDEX IF NOT EXISTS batch_file_references_file_idx ON batch_file_references (file_id);
