// The audit chain on real Postgres: it verifies, tampering as the superuser is named by `coffer audit verify`,
// the application role cannot update or delete, checkpoints are signed in the token, retention archives first.
import { readdirSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, randomUUID, verify } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointMessage } from '../../core/audit-chain.js';
import { createCheckpoint } from '../../core/services/audit-trail.js';
import type { Pkcs11Hsm } from '../../hsm/index.js';
import { applyRetention } from '../../server/audit-jobs.js';
import { readExport } from '../../sdk/audit/export.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { adminContext, appendEvents, audit, openTestToken, servicesOver } from '../helpers/audit.js';
import { auditedRead } from '../../core/services/audited.js';
import type { AuditEvent } from '../../core/audit.js';
import type { AuditBatcher } from '../../db/audit-batcher.js';
import type { UnitOfWorkTuning } from '../../db/index.js';

const auditEvent = (id: string): AuditEvent => ({
  id, time: new Date(), requestId: randomUUID(), operation: 'Encrypt', keyArn: null, callerArn: null, accessKeyId: null,
  sourceIp: null, userAgent: null, outcome: 'Success', errorCode: null, encryptionContextKeys: [],
});

let hsm: Pkcs11Hsm;
const dbs: TestDatabase[] = [];

beforeAll(async () => {
  hsm = await openTestToken();
});
afterAll(async () => {
  await hsm?.close();
  for (const d of dbs) await d.drop();
});

/** A fresh Postgres database holding a verified chain of `n` events; returns its URL and a superuser connection. */
async function chain(n: number, concurrency = 1, mixed = false, tuning: UnitOfWorkTuning = {}) {
  const db = await createTestDatabase({ allowPglite: false });
  if (!db?.url) throw new Error('these tests need Postgres (the local server or TEST_DATABASE_URL)');
  dbs.push(db);
  const deps = await servicesOver(db.url, hsm, undefined, tuning);
  await appendEvents(deps, n, concurrency, mixed);
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  return { url: db.url, deps, sql, close: async () => (await sql.end(), await deps.uow.close()) };
}

/** The superuser bypasses the append-only triggers the way an attacker with that role could. */
async function tamper(sql: postgres.Sql, statement: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe('set local session_replication_role = replica');
    await tx.unsafe(statement);
  });
}

const idAt = async (sql: postgres.Sql, seq: number) => ((await sql`select id from audit_events where chain_seq = ${seq}`)[0] as { id: string }).id;

describe('the chain', () => {
  it('50 concurrent appenders give one linear chain that verifies', async () => {
    const c = await chain(200, 50);
    try {
      const r = await audit('verify', '--database-url', c.url);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('OK: 200 events (1..200)');
      expect(r.code).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('an UPDATE of a record is named as the first broken event', async () => {
    const c = await chain(10);
    try {
      const id = await idAt(c.sql, 4);
      await tamper(c.sql, `update audit_events set record = replace(record, '"ListKeys"', '"Decrypt"') where chain_seq = 4`);
      const r = await audit('verify', '--database-url', c.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`BROKEN at event 4 (eventID ${id}): its hash does not match its content`);
    } finally {
      await c.close();
    }
  });

  it('a DELETE in the middle is named at the event after the gap', async () => {
    const c = await chain(10);
    try {
      const id = await idAt(c.sql, 7);
      await tamper(c.sql, 'delete from audit_events where chain_seq = 6');
      const r = await audit('verify', '--database-url', c.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`BROKEN at event 7 (eventID ${id}): events 6..6 are missing`);
    } finally {
      await c.close();
    }
  });

  it('a DELETE of the oldest events is caught against the chain base', async () => {
    const c = await chain(5);
    try {
      await tamper(c.sql, 'delete from audit_events where chain_seq <= 2');
      const r = await audit('verify', '--database-url', c.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('BROKEN at event 3');
      expect(r.stderr).toContain('events 1..2 are missing');
    } finally {
      await c.close();
    }
  });

  it('reordering two events (swapping their positions) is named at the first', async () => {
    const c = await chain(10);
    try {
      await tamper(c.sql, `update audit_events set chain_seq = case chain_seq when 3 then -5 when 5 then -3 end where chain_seq in (3, 5)`);
      await tamper(c.sql, `update audit_events set chain_seq = -chain_seq where chain_seq < 0`);
      const r = await audit('verify', '--database-url', c.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('BROKEN at event 3');
      expect(r.stderr).toContain('predecessor hash does not match');
    } finally {
      await c.close();
    }
  });

  it('an inserted event (later ones renumbered) is caught at the first event that no longer links', async () => {
    const c = await chain(6);
    try {
      const [head] = await c.sql`select hash from audit_events where chain_seq = 3`;
      await tamper(c.sql, 'update audit_events set chain_seq = chain_seq + 1000 where chain_seq > 3');
      await tamper(c.sql, 'update audit_events set chain_seq = chain_seq - 999 where chain_seq > 1000');
      await tamper(
        c.sql,
        `insert into audit_events (id, time, request_id, operation, outcome, encryption_context_keys, chain_seq, prev_hash, hash, record)
         values (gen_random_uuid(), now(), 'forged', 'Decrypt', 'Success', '[]', 4, '${(head as { hash: string }).hash}', '${'f'.repeat(64)}', '{"eventName":"Decrypt"}')`,
      );
      const r = await audit('verify', '--database-url', c.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('BROKEN at event 4');
      expect(r.stderr).toContain('its hash does not match its content');
    } finally {
      await c.close();
    }
  });

  it('a consistently rewritten chain is caught by the signed checkpoint', async () => {
    const c = await chain(4);
    try {
      await createCheckpoint(c.deps);
      await tamper(c.sql, 'delete from audit_events where chain_seq = 4');
      await tamper(c.sql, 'update audit_chain_head set seq = 3');
      const r = await audit('verify', '--database-url', c.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('checkpoint 4: signed events up to 4, but the chain ends at 3');
    } finally {
      await c.close();
    }
  });
});

describe('group commit (requests that change no state)', () => {
  it('events batched and events of state changes, 50 appenders at a time, form one linear chain that verifies', async () => {
    const c = await chain(300, 50, true);
    try {
      const r = await audit('verify', '--database-url', c.url);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('OK: 300 events (1..300)');
      const [{ n }] = (await c.sql`select count(distinct tx) as n from (select xmin::text as tx from audit_events) t`) as unknown as [{ n: string }];
      expect(Number(n)).toBeLessThan(300); // some events shared a commit
    } finally {
      await c.close();
    }
  });

  it('an event is committed, visible to another connection, when its request\'s promise resolves', async () => {
    const c = await chain(0);
    try {
      const seen = await Promise.all(
        Array.from({ length: 100 }, async () => {
          const ctx = adminContext('Encrypt');
          await auditedRead(c.deps, ctx, async () => null);
          const rows = await c.sql`select outcome from audit_events where request_id = ${ctx.requestId}`;
          return rows.map((r) => r.outcome as string);
        }),
      );
      expect(seen).toEqual(Array.from({ length: 100 }, () => ['Success']));
    } finally {
      await c.close();
    }
  });

  it('a batch waits a few event-loop turns for events appended meanwhile (COFFER_AUDIT_GATHER_TURNS), and with 0 commits at once', async () => {
    for (const turns of [0, 4]) {
      const db = await createTestDatabase({ allowPglite: false });
      if (!db?.url) throw new Error('these tests need Postgres');
      dbs.push(db);
      const deps = await servicesOver(db.url, hsm, undefined, { auditGatherTurns: turns });
      try {
        const batcher = deps.uow.auditAppender as AuditBatcher;
        // Three events one event-loop turn apart, as requests handled side by side append them: each turn's append is
        // scheduled before the batcher looks again (a request's I/O comes in before the turn's setImmediate callbacks).
        await new Promise<void>((done, fail) => {
          const appended: Promise<void>[] = [];
          const step = () => {
            if (appended.length < 2) setImmediate(step);
            appended.push(batcher.append(auditEvent(randomUUID())));
            if (appended.length === 3) Promise.all(appended).then(() => done(), fail);
          };
          setImmediate(step);
        });
        if (turns === 0) expect(batcher.batches).toBeGreaterThan(1);
        else expect(batcher.batches).toBe(1);
      } finally {
        await deps.uow.close();
      }
    }
  });

  it('once the loop goes quiet, a batch lingers for requests still in flight (COFFER_AUDIT_LINGER_MS) until they append, and never when none is', async () => {
    const db = await createTestDatabase({ allowPglite: false });
    if (!db?.url) throw new Error('these tests need Postgres');
    dbs.push(db);
    // A linger far longer than the test's timeout: a batch that waited it out would fail the test.
    const run = async (lingerMs: number, inFlight: number) => {
      const deps = await servicesOver(db.url as string, hsm, undefined, { auditLingerMs: lingerMs });
      const batcher = deps.uow.auditAppender as AuditBatcher;
      batcher.countInFlight(() => inFlight);
      try {
        const first = batcher.append(auditEvent(randomUUID()));
        // The second request appends 30 ms later, as one whose RSA signature ran on the thread pool meanwhile.
        const second = new Promise<void>((done, fail) => setTimeout(() => batcher.append(auditEvent(randomUUID())).then(done, fail), 30));
        if (inFlight === 1) await first; // alone in flight: committed without waiting for anyone
        await Promise.all([first, second]);
        return batcher.batches;
      } finally {
        await deps.uow.close();
      }
    };
    expect(await run(60_000, 2)).toBe(1); // lingered, and stopped as soon as every request in flight had appended
    expect(await run(60_000, 1)).toBe(2);
    expect(await run(0, 2)).toBe(2);
  });

  it('a failed batch fails every request in it and stores none of its events', async () => {
    const c = await chain(0, 1, false, { auditGatherTurns: 0 });
    try {
      const appender = c.deps.uow.auditAppender;
      const dup = randomUUID();
      // Committing at once (no gathering), the first event commits alone; the three that arrive meanwhile form the
      // next batch, which holds a duplicate id.
      const ids = [randomUUID(), dup, dup, randomUUID()];
      const outcomes = await Promise.allSettled(ids.map((id) => appender.append(auditEvent(id))));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'AlreadyExistsException' });
      const stored = await c.sql`select id from audit_events`;
      expect(stored.map((r) => r.id as string)).toEqual([ids[0]]);
      expect((await audit('verify', '--database-url', c.url)).stdout).toContain('OK: 1 events');
    } finally {
      await c.close();
    }
  });
});

describe('group commit, hostile input', () => {
  it('an event holding lone UTF-16 surrogates or NUL (from a caller) is stored with U+FFFD and its batch neighbours commit; the chain verifies', async () => {
    const c = await chain(0);
    try {
      const appender = c.deps.uow.auditAppender;
      const odd = { ...auditEvent(randomUUID()), encryptionContextKeys: ['\ud800', 'x\udfffy', 'nul\u0000'], userAgent: 'ua \ud83d' };
      const outcomes = await Promise.allSettled([auditEvent(randomUUID()), auditEvent(randomUUID()), odd, auditEvent(randomUUID())].map((e) => appender.append(e)));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      const [row] = await c.sql`select encryption_context_keys, user_agent from audit_events where id = ${odd.id}`;
      expect(row).toEqual({ encryption_context_keys: ['\ufffd', 'x\ufffdy', 'nul\ufffd'], user_agent: 'ua \ufffd' });
      const r = await audit('verify', '--database-url', c.url);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('OK: 4 events');
    } finally {
      await c.close();
    }
  });
});

describe('append-only', () => {
  it('the application role may insert and select audit rows but not update or delete them', async () => {
    const c = await chain(2);
    try {
      await c.sql.begin(async (tx) => {
        await tx.unsafe('set local role coffer_app');
        expect((await tx`select count(*)::int as n from audit_events`)[0]).toEqual({ n: 2 });
        const refused = (statement: string) => expect(tx.savepoint((sp) => sp.unsafe(statement))).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('permission denied') });
        await refused(`update audit_events set operation = 'x'`);
        await refused('delete from audit_events');
        await refused('truncate audit_events');
        await refused(`update audit_checkpoints set hash = 'x'`);
        await tx.savepoint((sp) => sp.unsafe(`insert into audit_checkpoints (chain_seq, hash, time, signature, public_key) values (1, 'h', now(), 's', 'k')`));
      });
    } finally {
      await c.close();
    }
  });

  it('even the owner is refused an UPDATE by the trigger unless triggers are bypassed', async () => {
    const c = await chain(1);
    try {
      await expect(c.sql`update audit_events set operation = 'x'`).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(c.sql`delete from audit_events`).rejects.toThrow(/append-only: DELETE refused/);
    } finally {
      await c.close();
    }
  });
});

describe('checkpoints', () => {
  it('are signed in the token and verify with node:crypto from the public key', async () => {
    const c = await chain(3);
    try {
      const cp = await createCheckpoint(c.deps);
      expect(cp).toMatchObject({ chainSeq: 3 });
      expect(await createCheckpoint(c.deps)).toBeNull(); // nothing new since
      const key = createPublicKey({ key: Buffer.from(await hsm.auditPublicKey()), format: 'der', type: 'spki' });
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(verify('sha256', checkpointMessage(cp!.chainSeq, cp!.hash, cp!.time), key, Buffer.from(cp!.signature, 'base64'))).toBe(true);
      const pinned = Buffer.from(await hsm.auditPublicKey()).toString('base64');
      expect((await audit('verify', '--database-url', c.url, '--public-key', pinned)).code).toBe(0);
      expect((await audit('verify', '--database-url', c.url, '--public-key', 'AAAA')).stderr).toContain('signed by another key');
    } finally {
      await c.close();
    }
  });
});

describe('export and retention', () => {
  it('exports as CloudTrail JSON and JSON lines, both verify, and tampering a file is named', async () => {
    const c = await chain(5);
    const dir = mkdtempSync(join(tmpdir(), 'coffer-audit-export-'));
    try {
      await createCheckpoint(c.deps);
      for (const format of ['cloudtrail', 'jsonl']) {
        const out = join(dir, `a.${format}`);
        const e = await audit('export', '--database-url', c.url, '--format', format, '--out', out);
        expect(e).toMatchObject({ code: 0 });
        expect(e.stderr).toContain('exported 5 events');
        expect(await audit('verify', '--file', out)).toMatchObject({ code: 0 });
        const f = await readExport(out);
        expect(f.events.map((x) => (x.record as { eventName: string }).eventName)).toEqual(Array(5).fill('ListKeys'));
      }
      const partial = join(dir, 'partial.jsonl');
      const since = new Date(Date.now() - 60_000).toISOString();
      expect((await audit('export', '--database-url', c.url, '--since', since, '--until', new Date(Date.now() + 60_000).toISOString(), '--format', 'jsonl', '--out', partial)).code).toBe(0);
      const { writeFileSync, readFileSync } = await import('node:fs');
      writeFileSync(partial, readFileSync(partial, 'utf8').replace('"eventName":"ListKeys"', '"eventName":"Decrypt"'));
      const r = await audit('verify', '--file', partial);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('BROKEN at event 1');
    } finally {
      await c.close();
    }
  });

  it('archives events past the window, deletes them, and the chain verifies from the archive boundary', async () => {
    const c = await chain(6);
    const dir = mkdtempSync(join(tmpdir(), 'coffer-audit-archive-'));
    try {
      const later = { now: () => new Date(Date.now() + 2 * 86_400_000) };
      await appendEvents({ ...c.deps, clock: later }, 3); // events 7..9 are "two days newer"
      const archive = await applyRetention({ ...c.deps, clock: later }, 1, dir);
      expect(readdirSync(dir)).toEqual(['audit-1-6.jsonl']);
      expect((await c.sql`select min(chain_seq)::int as lo, count(*)::int as n from audit_events`)[0]).toEqual({ lo: 7, n: 3 });
      const f = await readExport(archive!);
      const [first] = await c.sql`select prev_hash from audit_events where chain_seq = 7`;
      expect(f.events.at(-1)!.hash).toBe((first as { prev_hash: string }).prev_hash);
      expect(await audit('verify', '--file', archive!)).toMatchObject({ code: 0 });
      const v = await audit('verify', '--database-url', c.url);
      expect(v.stdout).toContain('OK: 3 events (7..9)');
      expect(await applyRetention({ ...c.deps, clock: later }, 1, dir)).toBeNull();
    } finally {
      await c.close();
    }
  });
});
