// Migrations: concurrent migrators on one fresh Postgres database both succeed, serialised by the advisory lock.
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_ID, migrate, migrationsFolder, openDatabase, type Database } from '../../db/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/** How many migrations the journal lists (each branch adds its own). */
const MIGRATIONS = (JSON.parse(readFileSync(join(migrationsFolder(), 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

const probe = await createTestDatabase({ allowPglite: false });
await probe?.drop();
if (!probe) console.warn('[db-migrate] No Postgres server answered: the postgres migration tests are SKIPPED.');

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

it('0007 registers the domain keys that existing wrapped material names before it adds the foreign key', async () => {
  // A database as 0006 left it, with wrapped material, then every migration.
  const before = mkdtempSync(join(tmpdir(), 'coffer-migrations-0006-'));
  try {
    cpSync(migrationsFolder(), before, { recursive: true });
    const journal = JSON.parse(readFileSync(join(before, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
    const upTo = journal.entries.findIndex((e) => e.tag === '0006_wrapped_key_material');
    expect(upTo).toBeGreaterThan(0);
    writeFileSync(join(before, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo + 1) }));
    const d = await open();
    if (d.kind !== 'pglite') throw new Error('expected PGlite');
    await migratePglite(d.native, { migrationsFolder: before });
    const domainKey = randomBytes(16);
    await d.client.query('insert into wrapped_key_material (version_id, domain_key_id, blob) values ($1, $2, $3), ($4, $2, $3)', [randomUUID(), domainKey, randomBytes(89), randomUUID()]);
    await migrate(d);
    const registered = await d.client.query<{ id: Uint8Array }>('select id from domain_keys');
    expect(registered.rows.map((r) => Buffer.from(r.id).toString('hex'))).toEqual([domainKey.toString('hex')]);
    await expect(d.client.query('insert into wrapped_key_material (version_id, domain_key_id, blob) values ($1, $2, $3)', [randomUUID(), randomBytes(16), randomBytes(89)])).rejects.toMatchObject({ code: '23503' });
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
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
