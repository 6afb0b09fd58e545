// Migrations: concurrent migrators on one fresh Postgres database both succeed, serialised by the advisory lock.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_ID, migrate, migrationsFolder, openDatabase, type Database } from '../../db/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const probe = await createTestDatabase({ allowPglite: false });
await probe?.drop();
if (!probe) console.warn('[db-migrate] No Postgres server answered: the postgres migration tests are SKIPPED.');

/** How many migrations the journal lists: each applies exactly once. */
const MIGRATIONS = (JSON.parse(readFileSync(join(migrationsFolder(), 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

const opened: Database[] = [];
const targets: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
  await Promise.all(targets.splice(0).map((t) => t.drop()));
});

async function freshPostgres(): Promise<string> {
  const target = await createTestDatabase({ allowPglite: false });
  if (!target?.url) throw new Error('Postgres went away');
  targets.push(target);
  return target.url;
}

async function open(url?: string): Promise<Database> {
  const d = await openDatabase({ url });
  opened.push(d);
  return d;
}

async function appliedMigrations(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    return rows[0]?.n as number;
  } finally {
    await sql.end();
  }
}

it('finds the migration journal next to the module', () => {
  const dir = migrationsFolder();
  expect(dir).toMatch(/db[/\\]migrations[/\\]$/);
  expect(existsSync(`${dir}meta/_journal.json`)).toBe(true);
});

it('migrates PGlite, and migrating again changes nothing', async () => {
  const d = await open();
  await migrate(d);
  await migrate(d);
  if (d.kind !== 'pglite') throw new Error('expected PGlite');
  const rows = await d.client.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
  expect(rows.rows).toEqual([{ n: MIGRATIONS }]);
});

describe.skipIf(!probe)('postgres migrations', () => {
  it('lets two migrators race on a fresh database and both succeed', async () => {
    const url = await freshPostgres();
    const [a, b] = [await open(url), await open(url)];
    await Promise.all([migrate(a), migrate(b), migrate(await open(url))]);
    expect(await appliedMigrations(url)).toBe(MIGRATIONS);
    await a.db.execute('select 1 from keys, key_versions, aliases, tags, access_keys, audit_events limit 1');
  });

  it('waits for the advisory lock before touching the schema', async () => {
    const url = await freshPostgres();
    const holder = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await holder`select pg_advisory_lock(${MIGRATION_LOCK_ID}::bigint)`;
      let done = false;
      const running = migrate(await open(url)).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 750));
      expect(done).toBe(false);
      const [tables] = await holder`select count(*)::int as n from information_schema.tables where table_name = 'keys'`;
      expect(tables?.n).toBe(0);
      await holder`select pg_advisory_unlock(${MIGRATION_LOCK_ID}::bigint)`;
      await running;
      expect(done).toBe(true);
      expect(await appliedMigrations(url)).toBe(MIGRATIONS);
    } finally {
      await holder.end();
    }
  });
});
