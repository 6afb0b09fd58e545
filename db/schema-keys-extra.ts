// Tables for key rotation (the rotation setting of a key, one row per rotation) and imported key material.
import { sql } from 'drizzle-orm';
import { boolean, customType, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { ImportedMaterial, RotationType } from '../core/model.js';
import { keys, keyVersions } from './schema.js';

/** bytea as Uint8Array (as in schema.ts; not imported from it, which would be a cycle through its re-export). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => new Uint8Array(value),
});

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const keyRotationSettings = pgTable(
  'key_rotation_settings',
  {
    keyId: uuid('key_id')
      .primaryKey()
      .references(() => keys.id, { onDelete: 'cascade' }),
    enabled: boolean('enabled').notNull(),
    periodDays: integer('period_days').notNull(),
    nextRotationDate: tstz('next_rotation_date'),
  },
  (t) => [index('key_rotation_due_idx').on(t.nextRotationDate).where(sql`enabled`)],
);

export const keyRotations = pgTable(
  'key_rotations',
  {
    versionId: uuid('version_id')
      .primaryKey()
      .references(() => keyVersions.id, { onDelete: 'cascade' }),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    rotationDate: tstz('rotation_date').notNull(),
    rotationType: text('rotation_type').$type<RotationType>().notNull(),
  },
  (t) => [index('key_rotations_key_id_idx').on(t.keyId, t.version)],
);

/**
 * One row per imported key material (a key version): its check value (to refuse different material on re-import),
 * expiry, description, and whether the material is in the token now (false once deleted or expired, until
 * re-imported). A symmetric key may have several: AWS's on-demand rotation of imported material.
 */
export const keyImports = pgTable(
  'key_imports',
  {
    versionId: uuid('version_id')
      .primaryKey()
      .references(() => keyVersions.id, { onDelete: 'cascade' }),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id, { onDelete: 'cascade' }),
    checkValue: bytea('check_value').notNull(),
    expirationModel: text('expiration_model').$type<ImportedMaterial['expirationModel']>().notNull(),
    validTo: tstz('valid_to'),
    description: text('description'),
    imported: boolean('imported').notNull().default(true),
  },
  (t) => [index('key_imports_key_id_idx').on(t.keyId), index('key_imports_valid_to_idx').on(t.validTo).where(sql`imported`)],
);

/**
 * Each key's last successful cryptographic use (GetKeyLastUsage), upserted by the statement that appends the audit
 * events recording it (db/repos/audit.ts). No foreign key to keys: a key deleted while a batch naming it commits
 * must not fail every other caller's event in that batch; the key's deletion removes its row instead.
 */
export const keyLastUsage = pgTable('key_last_usage', {
  keyId: uuid('key_id').primaryKey(),
  operation: text('operation').notNull(),
  time: tstz('time').notNull(),
  eventId: uuid('event_id').notNull(),
  requestId: text('request_id').notNull(),
});

/** One row (id 1): when this database began tracking key usage; keys created before it report that date. */
export const keyUsageTracking = pgTable('key_usage_tracking', {
  id: integer('id').primaryKey(),
  startedAt: tstz('started_at').defaultNow().notNull(),
});
