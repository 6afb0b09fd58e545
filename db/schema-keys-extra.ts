// Tables for key rotation: the rotation setting of a key, and one row per rotation (the key version it made).
import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { RotationType } from '../core/model.js';
import { keys, keyVersions } from './schema.js';

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
