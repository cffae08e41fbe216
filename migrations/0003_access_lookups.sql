-- Chat references (a provider id or storage URI named in a message part) are checked against the
-- recorded uploads of every provider at once (SPEC §5): look them up by id alone.
CREATE INDEX IF NOT EXISTS provider_files_id_idx ON provider_files (provider_file_id);
