// Applies db/migrations with Drizzle's migrator; on Postgres an advisory lock serialises concurrent migrators.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { KmsError } from '../core/errors.js';
import type { Database, PostgresDatabase } from './client.js';
import { guard } from './errors.js';

/** Arbitrary constant shared by every Coffer instance: "coffer" in ASCII. */
export const MIGRATION_LOCK_ID = 0x636f66666572;

// From source (db/migrate.ts) the SQL is in ./migrations; compiled (dist/db/migrate.js) it is in ../../db/migrations.
const CANDIDATES = ['./migrations/', '../migrations/', '../../db/migrations/'];

/** The folder holding the migration journal. */
export function migrationsFolder(): string {
  for (const rel of CANDIDATES) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}meta/_journal.json`)) return dir;
  }
  throw new KmsError('KMSInternalException', 'The database migrations were not found.');
}

/** Brings the schema up to date. Safe to call from several processes at once. */
export async function migrate(database: Database): Promise<void> {
  await guard(async () => {
    const folder = migrationsFolder();
    if (database.kind === 'pglite') {
      await migratePglite(database.native, { migrationsFolder: folder });
    } else {
      await withMigrationLock(database, () => migratePostgres(database.native, { migrationsFolder: folder }));
    }
  });
}

/** Holds a session-level advisory lock on a reserved connection while `fn` runs on the pool. */
async function withMigrationLock(database: PostgresDatabase, fn: () => Promise<void>): Promise<void> {
  const conn = await database.client.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_ID}::bigint)`;
    try {
      await fn();
    } finally {
      await conn`select pg_advisory_unlock(${MIGRATION_LOCK_ID}::bigint)`;
    }
  } finally {
    conn.release();
  }
}
