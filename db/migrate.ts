// Applies db/migrations with Drizzle's migrator; on Postgres an advisory lock serialises concurrent migrators.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
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

/**
 * Whether every migration of the journal shipped with this build is applied (by hash), so a replica of an older
 * or newer build, or a database restored from before a migration, is not reported ready. Throws when unreachable.
 */
export async function migrationsCurrent(database: Database): Promise<boolean> {
  const expected = readMigrationFiles({ migrationsFolder: migrationsFolder() }).map((m) => m.hash);
  const result = await guard(() => database.db.execute(sql`select hash from drizzle.__drizzle_migrations`));
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { hash: string }[];
  const applied = new Set(rows.map((r) => r.hash));
  return expected.every((h) => applied.has(h));
}
