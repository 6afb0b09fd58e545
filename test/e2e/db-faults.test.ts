// Postgres stopped and started under load (a private cluster this test owns): calls fail with the retryable
// DependencyTimeoutException (503), never a 500 or a crash; nothing half-written remains; service resumes by itself.
import { CreateKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { DrizzleUnitOfWork } from '../../db/index.js';
import { ensureDevToken, openHsm } from '../../hsm/index.js';
import { createPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { startCoffer, type CofferProcess } from '../helpers/server.js';
import { Recorder } from '../reliability/record.js';

let cluster: PgCluster | null = null;
let server: CofferProcess | null = null;
// Also an area of `npm run test:reliability`'s table: each request under the outage is a case.
const rec = new Recorder('faults: Postgres stopped under load');
afterAll(async () => {
  rec.save();
  await server?.stop();
  await cluster?.destroy();
});

interface Result {
  op: 'CreateKey' | 'Encrypt';
  ok: boolean;
  error?: string;
  status?: number;
  keyId?: string;
  requestId?: string;
}

async function call(kms: KMSClient, op: Result['op'], keyId: string): Promise<Result> {
  try {
    if (op === 'CreateKey') {
      const r = await kms.send(new CreateKeyCommand({}));
      return { op, ok: true, keyId: r.KeyMetadata!.KeyId!, requestId: r.$metadata.requestId! };
    }
    const r = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(16) }));
    return { op, ok: true, requestId: r.$metadata.requestId! };
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { op, ok: false, error: err.name, status: err.$metadata?.httpStatusCode };
  }
}

type Phase = 'up' | 'stopping' | 'down' | 'starting' | 'restarted';

const waitFor = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
};

it('answers 503 DependencyTimeoutException while Postgres is down, keeps no partial state, and resumes', async () => {
  cluster = await createPgCluster();
  if (!cluster) return expect.fail('this test needs /usr/lib/postgresql/15/bin and the postgres OS user');
  const pg = cluster;
  const running = await startCoffer({ databaseUrl: pg.url });
  server = running;
  const kms = running.client();
  const first = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;

  // Load: four workers mixing CreateKey and Encrypt; each result is tagged with the phase its request started in.
  const seen: { phase: Phase; end: Phase; r: Result }[] = [];
  let phase: Phase = 'up';
  let stopped = false;
  const worker = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      const at = phase;
      const r = await call(kms, (i + w) % 3 === 0 ? 'CreateKey' : 'Encrypt', first);
      seen.push({ phase: at, end: phase, r });
    }
  };
  const workers = Promise.all([0, 1, 2, 3].map(worker));
  const count = (p: Phase, ok: boolean) => seen.filter((s) => s.phase === p && s.r.ok === ok).length;

  await waitFor(() => count('up', true) >= 20);
  phase = 'stopping';
  await pg.stop();
  phase = 'down';
  // Each call waits for the driver's connect timeout before failing, so few are enough.
  await waitFor(() => count('down', false) >= 8);
  if (running.child.exitCode !== null) throw new Error(running.logs().slice(-3000));
  const ready = await fetch(`${running.url}/readyz`);
  const readyBody = await ready.json();
  phase = 'starting';
  await pg.start();
  phase = 'restarted';
  await waitFor(() => count('restarted', true) >= 20);
 
  stopped = true;
  await workers;
  kms.destroy();

  for (const s of seen) {
    const expected = s.r.ok ? !(s.phase === 'down' && s.end === 'down') : s.r.error === 'DependencyTimeoutException' && s.r.status === 503;
    rec.check(expected, `${s.r.op} started while ${s.phase}: ${s.r.ok ? 'succeeded' : `${s.r.error} ${s.r.status}`}`);
  }
  rec.check(running.child.exitCode === null, 'the server stayed up through the outage');

  // While down: only the retryable 503, no 500, and the process stayed up; readiness named the database.
  const failures = seen.filter((s) => !s.r.ok).map((s) => s.r);
  expect(failures.length).toBeGreaterThanOrEqual(8);
  expect(new Set(failures.map((f) => `${f.error} ${f.status}`))).toEqual(new Set(['DependencyTimeoutException 503']));
  expect(seen.filter((s) => s.phase === 'down' && s.end === 'down' && s.r.ok)).toEqual([]);
  expect(running.child.exitCode).toBeNull();
  expect(ready.status).toBe(503);
  expect(readyBody).toMatchObject({ status: 'unavailable', failing: ['database'] });
  expect((await fetch(`${running.url}/readyz`)).status).toBe(200);

  // No partial state: every key row has its version and its material (a token object, or wrapped in the database);
  // every answered success is stored and audited.
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const hsm = await openHsm(await ensureDevToken({ dataDir: running.dataDir, label: 'coffer-dev' }));
  const uow = await DrizzleUnitOfWork.open({ url: pg.url });
  await hsm.useWrappedKeys(uow.wrappedKeys, 16);
  try {
    const rows = await sql`select k.id, v.id as version_id from keys k left join key_versions v on v.key_id = k.id`;
    expect(rows.every((r) => r.version_id !== null)).toBe(true);
    for (const r of rows) expect(await hsm.hasRootKey(r.version_id as string)).toBe(true);
    const created = seen.filter((s) => s.r.ok && s.r.op === 'CreateKey').map((s) => s.r.keyId);
    const stored = new Set(rows.map((r) => r.id as string));
    rec.lose(created.filter((id) => !stored.has(id as string)).length, 'acknowledged CreateKey without its key row');
    expect(created.filter((id) => !stored.has(id as string))).toEqual([]);
    const ids = seen.filter((s) => s.r.ok).map((s) => s.r.requestId as string);
    const audited = await sql`select request_id from audit_events where request_id = any(${ids})`;
    rec.lose(ids.length - audited.length, 'acknowledged requests without their audit event');
    rec.note(`${seen.length} requests: ${failures.length} answered 503 while Postgres was down, ${ids.length} acknowledged, ${created.length} keys created`);
    expect(audited.length).toBe(ids.length);
  } finally {
    await hsm.close();
    await uow.close();
    await sql.end();
  }
}, 180_000);
