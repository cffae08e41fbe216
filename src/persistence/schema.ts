/** Drizzle table definitions; migrations/*.sql is the source of truth for the DDL. */
import type { FineTuningJob } from '../core/fine-tuning-types.ts';
import type { BatchObject } from '../core/batch-types.ts';
import type { FileObject } from '../core/openai-types.ts';
import { sql } from 'drizzle-orm';
import { bigint, boolean, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export type CopyState = 'processing' | 'active' | 'failed';

export const users = pgTable('users', {
  userId: text('user_id').primaryKey(),
  userRole: text('user_role').notNull(),
  teamId: text('team_id'),
  models: text('models').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const apiKeys = pgTable('api_keys', {
  tokenHash: text('token_hash').primaryKey(),
  keyName: text('key_name').notNull(),
  keyAlias: text('key_alias'),
  userId: text('user_id'),
  teamId: text('team_id'),
  models: text('models').array().notNull(),
  metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const providerFiles = pgTable(
  'provider_files',
  {
    provider: text('provider').notNull(),
    providerFileId: text('provider_file_id').notNull(),
    ownerId: text('owner_id').notNull(),
    teamId: text('team_id'),
    purpose: text('purpose').notNull(),
    fileObject: jsonb('file_object').$type<FileObject>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** The deployment a model-routed upload went to (x-litellm-model); later calls go there. */
    deploymentId: text('deployment_id'),
  },
  (table) => [primaryKey({ columns: [table.provider, table.providerFileId] })],
);

export const managedFiles = pgTable('managed_files', {
  id: text('id').primaryKey(),
  ownerId: text('owner_id').notNull(),
  teamId: text('team_id'),
  purpose: text('purpose').notNull(),
  filename: text('filename').notNull(),
  bytes: bigint('bytes', { mode: 'number' }).notNull(),
  mimeType: text('mime_type').notNull(),
  targetModelNames: text('target_model_names').array().notNull(),
  status: text('status').$type<'active' | 'deleting' | 'deleted'>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull().default(sql`clock_timestamp()`),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  deleteAttempts: integer('delete_attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
  lastError: text('last_error'),
  /** purpose=batch: the url of every line, once checked (migrations/0008); null = not checked yet. */
  batchLineUrl: text('batch_line_url'),
  /** purpose=batch: the managed file ids the lines name (migrations/0008). */
  batchLineFiles: text('batch_line_files').array(),
});

export const managedFileCopies = pgTable(
  'managed_file_copies',
  {
    fileId: text('file_id').notNull(),
    deploymentId: text('deployment_id').notNull(),
    modelName: text('model_name').notNull(),
    provider: text('provider').notNull(),
    providerFileId: text('provider_file_id').notNull(),
    transformed: boolean('transformed').notNull().default(false),
    status: text('status').$type<'active' | 'deleted'>().notNull().default('active'),
    /** What the provider reported: still processing, usable, or failed (README "Endpoints" (managed files) per-copy state). */
    upstreamState: text('upstream_state').$type<CopyState>().notNull().default('active'),
    /** When the provider deletes this copy on its own (Gemini API files: 48 h); null = never. */
    upstreamExpiresAt: timestamp('upstream_expires_at', { withTimezone: true }),
    /** How the bytes are read/deleted: FilesCapability, or BatchesCapability output hooks. */
    reader: text('reader').$type<'file' | 'batch_output'>().notNull().default('file'),
  },
  (table) => [primaryKey({ columns: [table.fileId, table.deploymentId] })],
);

export const pendingProviderDeletes = pgTable(
  'pending_provider_deletes',
  {
    deploymentId: text('deployment_id').notNull(),
    providerFileId: text('provider_file_id').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
  },
  (table) => [primaryKey({ columns: [table.deploymentId, table.providerFileId] })],
);

/** Fine-tuning jobs (README "Batches"), migrations/0006_fine_tuning_jobs.sql. */
export const fineTuningJobs = pgTable('fine_tuning_jobs', {
  id: text('id').primaryKey(),
  ownerId: text('owner_id').notNull(),
  teamId: text('team_id'),
  provider: text('provider').notNull(),
  deploymentId: text('deployment_id').notNull(),
  plain: boolean('plain').notNull().default(false),
  runsOn: text('runs_on'),
  modelName: text('model_name').notNull(),
  providerJobId: text('provider_job_id').notNull(),
  trainingFile: text('training_file').notNull(),
  validationFile: text('validation_file'),
  status: text('status').notNull(),
  fineTunedModel: text('fine_tuned_model'),
  jobObject: jsonb('job_object').$type<FineTuningJob>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull().default(sql`clock_timestamp()`),
  // The background refresher (migrations/0007_fine_tuning_refresh.sql).
  nextRefreshAt: timestamp('next_refresh_at', { withTimezone: true }).notNull().defaultNow(),
  leaseOwner: text('lease_owner'),
  leaseUntil: timestamp('lease_until', { withTimezone: true }),
  refreshFailures: integer('refresh_failures').notNull().default(0),
  lastError: text('last_error'),
});

export const fineTuningResultFiles = pgTable(
  'fine_tuning_result_files',
  {
    jobId: text('job_id').notNull(),
    providerFileId: text('provider_file_id').notNull(),
    fileId: text('file_id').notNull(),
    position: integer('position').notNull(),
  },
  (table) => [primaryKey({ columns: [table.jobId, table.providerFileId] })],
);

/** One row per unified batch id (migrations/0004_batches.sql). */
export const batches = pgTable('batches', {
  id: text('id').primaryKey(),
  ownerId: text('owner_id').notNull(),
  teamId: text('team_id'),
  deploymentId: text('deployment_id').notNull(),
  provider: text('provider').notNull(),
  providerBatchId: text('provider_batch_id').notNull(),
  inputFileId: text('input_file_id').notNull(),
  inputManaged: boolean('input_managed').notNull(),
  endpoint: text('endpoint').notNull(),
  completionWindow: text('completion_window').notNull(),
  metadata: jsonb('metadata').$type<Record<string, string> | null>(),
  status: text('status').notNull(),
  batchObject: jsonb('batch_object').$type<BatchObject>().notNull(),
  outputReference: text('output_reference'),
  errorReference: text('error_reference'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull().default(sql`clock_timestamp()`),
  refreshedAt: timestamp('refreshed_at', { withTimezone: true }),
  nextRefreshAt: timestamp('next_refresh_at', { withTimezone: true }).notNull().defaultNow(),
  leaseOwner: text('lease_owner'),
  leaseUntil: timestamp('lease_until', { withTimezone: true }),
  refreshFailures: integer('refresh_failures').notNull().default(0),
  lastError: text('last_error'),
});

/** Managed files made from a batch's output/error references, once per (batch, kind). */
/** The managed files a batch's lines name (migrations/0008): protected from deletion while it runs. */
export const batchFileReferences = pgTable(
  'batch_file_references',
  {
    batchId: text('batch_id').notNull(),
    fileId: text('file_id').notNull(),
  },
  (table) => [primaryKey({ columns: [table.batchId, table.fileId] })],
);

export const batchOutputFiles = pgTable(
  'batch_output_files',
  {
    batchId: text('batch_id').notNull(),
    kind: text('kind').$type<'output' | 'error'>().notNull(),
    providerReference: text('provider_reference').notNull(),
    fileId: text('file_id').notNull(),
  },
  (table) => [primaryKey({ columns: [table.batchId, table.kind] })],
);
