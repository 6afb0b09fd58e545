// Drizzle table definitions for Coffer's Postgres schema; drizzle-kit generates db/migrations from this file.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import type { AuditOutcome } from '../core/audit.js';
import type { KeySpec, KeyUsage, Origin } from '../core/key-spec.js';
import type { KeyState } from '../core/key-state.js';
import type { AccessKeyStatus } from '../core/model.js';

/** bytea as a plain Uint8Array: postgres.js returns Buffers and PGlite Uint8Arrays, both are copied. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => new Uint8Array(value),
});

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const keys = pgTable(
  'keys',
  {
    id: uuid('id').primaryKey(),
    accountId: varchar('account_id', { length: 12 }).notNull(),
    description: text('description').notNull(),
    keySpec: text('key_spec').$type<KeySpec>().notNull(),
    keyUsage: text('key_usage').$type<KeyUsage>().notNull(),
    origin: text('origin').$type<Origin>().notNull(),
    state: text('state').$type<KeyState>().notNull(),
    createdAt: tstz('created_at').notNull(),
    deletionDate: tstz('deletion_date'),
    pendingWindowDays: integer('pending_window_days'),
    currentVersionId: uuid('current_version_id').notNull(),
  },
  (t) => [
    index('keys_account_id_idx').on(t.accountId, t.id),
    index('keys_deletion_due_idx').on(t.deletionDate).where(sql`state = 'PendingDeletion'`),
  ],
);

export const keyVersions = pgTable(
  'key_versions',
  {
    id: uuid('id').primaryKey(),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [unique('key_versions_key_id_version_unique').on(t.keyId, t.version)],
);

export const aliases = pgTable(
  'aliases',
  {
    accountId: varchar('account_id', { length: 12 }).notNull(),
    name: text('name').notNull(),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id, { onDelete: 'cascade' }),
    createdAt: tstz('created_at').notNull(),
    updatedAt: tstz('updated_at').notNull(),
  },
  (t) => [primaryKey({ name: 'aliases_pk', columns: [t.accountId, t.name] }), index('aliases_key_id_idx').on(t.keyId)],
);

export const tags = pgTable(
  'tags',
  {
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id, { onDelete: 'cascade' }),
    tagKey: text('tag_key').notNull(),
    tagValue: text('tag_value').notNull(),
  },
  (t) => [primaryKey({ name: 'tags_pk', columns: [t.keyId, t.tagKey] })],
);

export const accessKeys = pgTable(
  'access_keys',
  {
    accessKeyId: text('access_key_id').primaryKey(),
    principalArn: text('principal_arn').notNull(),
    accountId: varchar('account_id', { length: 12 }).notNull(),
    userName: text('user_name').notNull(),
    sealedSecret: bytea('sealed_secret').notNull(),
    status: text('status').$type<AccessKeyStatus>().notNull(),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [index('access_keys_principal_arn_idx').on(t.principalArn)],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: uuid('id').notNull().unique('audit_events_id_unique'),
    time: tstz('time').notNull(),
    requestId: text('request_id').notNull(),
    operation: text('operation').notNull(),
    keyArn: text('key_arn'),
    /** ReEncrypt's source key, when it differs from the destination (key_arn): LookupEvents finds the event under both. */
    sourceKeyArn: text('source_key_arn'),
    callerArn: text('caller_arn'),
    accessKeyId: text('access_key_id'),
    sourceIp: text('source_ip'),
    userAgent: text('user_agent'),
    outcome: text('outcome').$type<AuditOutcome>().notNull(),
    errorCode: text('error_code'),
    encryptionContextKeys: jsonb('encryption_context_keys').$type<string[]>().notNull(),
    /** The hash chain (core/audit-chain.ts): position, predecessor's hash, own hash, canonical CloudTrail record. */
    chainSeq: bigint('chain_seq', { mode: 'number' }).unique('audit_events_chain_seq_unique'),
    prevHash: text('prev_hash'),
    hash: text('hash'),
    record: text('record'),
  },
  (t) => [
    index('audit_events_time_idx').on(t.time),
    index('audit_events_key_arn_idx').on(t.keyArn),
    index('audit_events_source_key_arn_idx').on(t.sourceKeyArn).where(sql`source_key_arn is not null`),
    index('audit_events_caller_arn_idx').on(t.callerArn),
  ],
);

export * from './schema-audit.js';
export * from './schema-keys-extra.js';
export * from './schema-identity.js';
export * from './schema-imports.js';
