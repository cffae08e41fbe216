/** Drizzle table definitions; migrations/*.sql is the source of truth for the DDL. */
import type { FileObject } from '../core/openai-types.ts';
import { jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

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
  },
  (table) => [primaryKey({ columns: [table.provider, table.providerFileId] })],
);
