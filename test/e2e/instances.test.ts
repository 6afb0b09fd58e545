// Several instances on one database and one token: both start at once (migration lock), and the deletion job run by
// both deletes each due key exactly once. COFFER_WORKERS: one server of several worker processes.
import { readFileSync } from 'node:fs';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateRandomCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { migrationsFolder } from '../../db/index.js';
import { defaultSyncMaxBytes, ensureDevToken, openHsm, SOFTHSM_MODULE } from '../../hsm/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer, startCoffers, tempDataDir, type CofferProcess } from '../helpers/server.js';
import { audit } from '../helpers/audit.js';

let db: TestDatabase | null = null;
const servers: CofferProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await db?.drop();
});

/** The count of items each instance said its deletion job handled. */
function deletedBy(s: CofferProcess): number {
  return s
    .logs()
    .split('\n')
    .filter((l) => l.includes('"job":"key-deletion"'))
    .reduce((n, l) => n + (JSON.parse(l) as { count: number }).count, 0);
}

it('starts two instances at once on a fresh database, then their jobs delete each due key exactly once', async () => {
  db = await createTestDatabase({ allowPglite: false });
  if (!db?.url) return expect.fail('this test needs a Postgres server');
  // One token for both (a network HSM in production): initialised once here, before either starts.
  const dataDir = tempDataDir('coffer-instances-');
  const token = await ensureDevToken({ dataDir, label: 'coffer-dev' });
  const env = { COFFER_DELETION_JOB_INTERVAL_SECONDS: '0.2' };
  servers.push(...(await startCoffers([{ dataDir, databaseUrl: db.url, env }, { dataDir, databaseUrl: db.url, env }])));
  const [a, b] = servers as [CofferProcess, CofferProcess];
  for (const s of servers) expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  // Each instance unseals the access keys the other sealed: the fresh token has one credential key, not one each
  // (test/e2e/first-token-object.test.ts).
  for (const s of servers) {
    const kms = s.client();
    await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    kms.destroy();
  }
  const hsm = await openHsm(token);
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  try {
    const journal = JSON.parse(readFileSync(`${migrationsFolder()}meta/_journal.json`, 'utf8')) as { entries: unknown[] };
    const [{ n }] = (await sql`select count(*)::int as n from drizzle.__drizzle_migrations`) as unknown as [{ n: number }];
    expect(n).toBe(journal.entries.length);

    // Keys made through both instances, scheduled for deletion, then made due at once.
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const kms = (i % 2 ? a : b).client();
      const id = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 }));
      kms.destroy();
      ids.push(id);
    }
    const versions = (await sql`select id from key_versions where key_id = any(${ids})`).map((r) => r.id as string);
    expect(versions).toHaveLength(30);
    await sql`update keys set deletion_date = now() - interval '1 second' where id = any(${ids})`;
    while (deletedBy(a) + deletedBy(b) < 30) await new Promise((r) => setTimeout(r, 50));

    const [{ left }] = (await sql`select count(*)::int as left from keys where id = any(${ids})`) as unknown as [{ left: number }];
    expect(left).toBe(0);
    const events = await sql`select key_arn, count(*)::int as n from audit_events
      where operation = 'DeleteKey' and user_agent = 'coffer-deletion-job' group by key_arn`;
    expect(events).toHaveLength(30);
    expect(events.every((e) => e.n === 1)).toBe(true);
    // Give both another few job periods: nothing more is deleted, and the two counts still add up to 30.
    await new Promise((r) => setTimeout(r, 600));
    expect(deletedBy(a) + deletedBy(b)).toBe(30);
    for (const v of versions) expect(await hsm.hasRootKey(v)).toBe(false);
  } finally {
    await hsm.close();
    await sql.end();
  }
}, 180_000);

it('COFFER_WORKERS=2 serves one port from two worker processes; requests through many connections are answered and audited on one chain; the workers together admit the configured quota, not twice it; /metrics shows every worker; SIGTERM stops all', async () => {
  const workersDb = await createTestDatabase({ allowPglite: false });
  if (!workersDb?.url) return expect.fail('this test needs a Postgres server');
  const QUOTA = 20;
  const server = await startCoffer({ databaseUrl: workersDb.url, env: { COFFER_WORKERS: '2', COFFER_QUOTA_GENERATE_RANDOM_RPS: String(QUOTA) } });
  try {
    const listening = () => server.logs().split('\n').filter((l) => l.includes('"msg":"listening"'));
    while (listening().length < 2) await new Promise((r) => setTimeout(r, 100));
    const pids = new Set(listening().map((l) => (JSON.parse(l) as { pid: number }).pid));
    expect(pids.size).toBe(2);
    expect(pids.has(server.child.pid as number)).toBe(false); // the supervisor serves nothing itself
    // COFFER_HSM_SYNC_MAX_BYTES=auto decides with the workers: synchronous AES once every core runs one (2 on 2 cores).
    const syncMaxBytes = listening().map((l) => (JSON.parse(l) as { hsmSyncMaxBytes: number }).hsmSyncMaxBytes);
    expect(syncMaxBytes).toEqual([0, 0].map(() => defaultSyncMaxBytes(SOFTHSM_MODULE, 2)));

    const first = server.client();
    const keyId = (await first.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // New connections are dealt to the workers in turn; each client has its own.
    const clients = Array.from({ length: 8 }, () => server.client());
    const plaintext = new TextEncoder().encode('through either worker');
    await Promise.all(
      clients.map(async (kms) => {
        for (let i = 0; i < 5; i++) {
          const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
          const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob }));
          expect(Buffer.from(Plaintext!).equals(Buffer.from(plaintext))).toBe(true);
        }
      }),
    );

    // A burst of GenerateRandom over the 8 connections (4 per worker): each worker admits its half of the quota.
    const started = performance.now();
    const outcomes = await Promise.all(
      clients.map(async (kms) => {
        const mine: string[] = [];
        for (let i = 0; i < 8; i++) {
          mine.push(await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 })).then(() => 'ok', (e: { name?: string }) => e.name ?? 'error'));
        }
        return mine;
      }),
    );
    const elapsedS = (performance.now() - started) / 1000;
    const flat = outcomes.flat();
    expect(flat.filter((o) => o !== 'ok' && o !== 'ThrottlingException')).toEqual([]);
    const admitted = flat.filter((o) => o === 'ok').length;
    // One second of quota at once, plus what refills while the burst lasts; twice the quota if each worker took all of it.
    expect(admitted).toBeLessThanOrEqual(QUOTA + Math.ceil(QUOTA * elapsedS) + 1);
    expect(admitted).toBeGreaterThanOrEqual(QUOTA / 2);

    // Whichever worker a scrape reaches, /metrics holds every worker's series, each labelled with its worker.
    for (let scrape = 0; scrape < 2; scrape++) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain('coffer_workers_answering 2\n');
      const generateRandom = [...text.matchAll(/^coffer_requests_total\{operation="GenerateRandom",status="(\d+)",worker="(\d+)"\} (\d+)$/gm)];
      expect(new Set(generateRandom.map((m) => m[2])).size).toBe(2);
      const sum = (status: string) => generateRandom.filter((m) => m[1] === status).reduce((a, m) => a + Number(m[3]), 0);
      expect(sum('200')).toBe(admitted);
      expect(sum('400')).toBe(flat.length - admitted);
      expect(text.match(/^# TYPE coffer_requests_total counter$/gm)).toHaveLength(1);
    }
    for (const kms of [first, ...clients]) kms.destroy();
    const verified = await audit('verify', '--database-url', workersDb.url);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(await server.stop()).toBe(0);
    expect(server.logs().match(/"msg":"shut down cleanly"/g)).toHaveLength(2);
  } finally {
    await server.stop();
    await workersDb.drop();
  }
}, 180_000);

it('a SIGTERM while a worker is still starting stops the server with exit 0: the listening worker drains, the starting one ends with it', async () => {
  const workersDb = await createTestDatabase({ allowPglite: false });
  if (!workersDb?.url) return expect.fail('this test needs a Postgres server');
  // startCoffer returns when the first worker listens; the supervisor forks the second only then.
  const server = await startCoffer({ databaseUrl: workersDb.url, env: { COFFER_WORKERS: '2' } });
  try {
    expect(server.logs().match(/"msg":"listening"/g)).toHaveLength(1); // the second worker is still starting
    expect(await server.stop(), server.logs()).toBe(0);
    expect(server.logs()).toMatch(/"msg":"shut down cleanly"/);
    expect(server.logs()).not.toMatch(/"level":"(error|fatal)"/);
  } finally {
    await server.stop();
    await workersDb.drop();
  }
}, 120_000);
