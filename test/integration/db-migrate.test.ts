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

/** A PGlite database as the migrations up to `tag` left it. */
async function migratedUpTo(tag: string, dir: string): Promise<Extract<Database, { kind: 'pglite' }>> {
  cpSync(migrationsFolder(), dir, { recursive: true });
  const journal = JSON.parse(readFileSync(join(dir, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
  const upTo = journal.entries.findIndex((e) => e.tag === tag);
  expect(upTo).toBeGreaterThan(0);
  writeFileSync(join(dir, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo + 1) }));
  const d = await open();
  if (d.kind !== 'pglite') throw new Error('expected PGlite');
  await migratePglite(d.native, { migrationsFolder: dir });
  return d;
}

it('0007 registers the domain keys that existing wrapped material names before it adds the foreign key', async () => {
  // A database as 0006 left it, with wrapped material, then every migration.
  const before = mkdtempSync(join(tmpdir(), 'coffer-migrations-0006-'));
  try {
    const d = await migratedUpTo('0006_wrapped_key_material', before);
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

it('0009 gives each existing import record its key\'s version, imported unless the key awaits its material', async () => {
  const before = mkdtempSync(join(tmpdir(), 'coffer-migrations-0008-'));
  try {
    const d = await migratedUpTo('0008_key_last_usage', before);
    const keys = [[randomUUID(), randomUUID(), 'Enabled'], [randomUUID(), randomUUID(), 'PendingImport']] as const;
    for (const [keyId, versionId, state] of keys) {
      await d.client.query(
        `insert into keys (id, account_id, description, key_spec, key_usage, origin, state, created_at, current_version_id)
         values ($1, '111122223333', '', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EXTERNAL', $2, now(), $3)`,
        [keyId, state, versionId],
      );
      await d.client.query('insert into key_versions (id, key_id, version, created_at) values ($1, $2, 1, now())', [versionId, keyId]);
      await d.client.query(`insert into key_imports (key_id, check_value, expiration_model) values ($1, $2, 'KEY_MATERIAL_DOES_NOT_EXPIRE')`, [keyId, randomBytes(32)]);
    }
    await migrate(d);
    const rows = await d.client.query<{ key_id: string; version_id: string; imported: boolean }>('select key_id, version_id, imported from key_imports order by imported desc');
    expect(rows.rows).toEqual([
      { key_id: keys[0][0], version_id: keys[0][1], imported: true },
      { key_id: keys[1][0], version_id: keys[1][1], imported: false },
    ]);
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
});

it('0012 removes the policies and tags of users that are gone, and keeps every user\'s own', async () => {
  const before = mkdtempSync(join(tmpdir(), 'coffer-migrations-0011-'));
  try {
    const d = await migratedUpTo('0011_user_tags', before);
    await d.client.query(`insert into users (account_id, user_name, user_id, created_at) values ('111122223333', 'alive', 'AIDAALIVEALIVEALIVE2', now())`);
    for (const user of ['alive', 'gone']) {
      await d.client.query(`insert into user_policies (account_id, user_name, policy_name, document) values ('111122223333', $1, 'p', '{}')`, [user]);
      await d.client.query(`insert into user_tags (account_id, user_name, tag_key, tag_value) values ('111122223333', $1, 'k', 'v')`, [user]);
    }
    // The same name in another account is another user.
    await d.client.query(`insert into user_policies (account_id, user_name, policy_name, document) values ('444455556666', 'alive', 'p', '{}')`);
    await migrate(d);
    const policies = await d.client.query<{ account_id: string; user_name: string }>('select account_id, user_name from user_policies');
    expect(policies.rows).toEqual([{ account_id: '111122223333', user_name: 'alive' }]);
    const tags = await d.client.query<{ user_name: string }>('select user_name from user_tags');
    expect(tags.rows).toEqual([{ user_name: 'alive' }]);
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
