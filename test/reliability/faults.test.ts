// Faults: SIGKILL of the server under a mixed load, then a restart on the same data directory and database:
// every acknowledged key, alias and tag is there, every acknowledged ciphertext decrypts, every
// acknowledged request (success or refusal) has its audit event.
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand, GenerateDataKeyCommand,
  ListKeysCommand, ListResourceTagsCommand, TagResourceCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer, tempDataDir, type CofferProcess } from '../helpers/server.js';
import { Recorder, SOAK } from './record.js';

const rec = new Recorder('faults: SIGKILL under load');
const dbs: TestDatabase[] = [];
afterAll(async () => {
  rec.save();
  for (const d of dbs) await d.drop();
});

interface Acked {
  keys: Set<string>;
  aliases: Map<string, string>;
  tags: { keyId: string; key: string; value: string }[];
  ciphertexts: { blob: Uint8Array; plaintext: Buffer; context: Record<string, string>; keyId: string }[];
  requests: { id: string; op: string; outcome: 'Success' | 'Failure' }[];
  /** Keys whose state workers toggle: the last acknowledged state, unless a change was in flight at the kill. */
  states: Map<string, { state: 'Enabled' | 'Disabled'; inFlight: boolean }>;
}

const requestIdOf = (x: unknown) => (x as { $metadata?: { requestId?: string } }).$metadata?.requestId;

/** One worker: a loop of mixed operations; records only what the server acknowledged. */
async function worker(kms: KMSClient, acked: Acked, stop: { now: boolean }, n: number): Promise<void> {
  const mine: string[] = [];
  let stateKey: string | null = null;
  let i = 0;
  while (!stop.now) {
    i += 1;
    const tag = `w${n}-${i}-${randomBytes(3).toString('hex')}`;
    try {
      const roll = mine.length === 0 ? 0 : i % 8;
      if (roll === 0) {
        const r = await kms.send(new CreateKeyCommand({ Description: tag, Tags: [{ TagKey: 'born', TagValue: tag }] }));
        const id = r.KeyMetadata!.KeyId!;
        mine.push(id);
        acked.keys.add(id);
        acked.tags.push({ keyId: id, key: 'born', value: tag });
        acked.requests.push({ id: requestIdOf(r)!, op: 'CreateKey', outcome: 'Success' });
      } else {
        const keyId = mine[i % mine.length]!;
        if (roll === 1) {
          const r = await kms.send(new CreateAliasCommand({ AliasName: `alias/${tag}`, TargetKeyId: keyId }));
          acked.aliases.set(`alias/${tag}`, keyId);
          acked.requests.push({ id: requestIdOf(r)!, op: 'CreateAlias', outcome: 'Success' });
        } else if (roll === 2) {
          const r = await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: tag, TagValue: tag }] }));
          acked.tags.push({ keyId, key: tag, value: tag });
          acked.requests.push({ id: requestIdOf(r)!, op: 'TagResource', outcome: 'Success' });
        } else if (roll === 3 || roll === 6) {
          const plaintext = randomBytes(1 + (i % 200));
          const context = { worker: String(n), i: String(i) };
          const r = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }));
          acked.ciphertexts.push({ blob: r.CiphertextBlob!, plaintext, context, keyId });
          acked.requests.push({ id: requestIdOf(r)!, op: 'Encrypt', outcome: 'Success' });
        } else if (roll === 4) {
          const r = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
          acked.ciphertexts.push({ blob: r.CiphertextBlob!, plaintext: Buffer.from(r.Plaintext!), context: {}, keyId });
          acked.requests.push({ id: requestIdOf(r)!, op: 'GenerateDataKey', outcome: 'Success' });
        } else if (roll === 5) {
          if (stateKey === null) {
            const r = await kms.send(new CreateKeyCommand({ Description: `state ${tag}` }));
            stateKey = r.KeyMetadata!.KeyId!;
            acked.keys.add(stateKey);
            acked.states.set(stateKey, { state: 'Enabled', inFlight: false });
            acked.requests.push({ id: requestIdOf(r)!, op: 'CreateKey', outcome: 'Success' });
          } else {
            const s = acked.states.get(stateKey)!;
            const next = s.state === 'Enabled' ? 'Disabled' : 'Enabled';
            s.inFlight = true;
            const r = await kms.send(next === 'Disabled' ? new DisableKeyCommand({ KeyId: stateKey }) : new EnableKeyCommand({ KeyId: stateKey }));
            acked.states.set(stateKey, { state: next, inFlight: false });
            acked.requests.push({ id: requestIdOf(r)!, op: next === 'Disabled' ? 'DisableKey' : 'EnableKey', outcome: 'Success' });
          }
        } else {
          try {
            await kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(80) }));
          } catch (e) {
            const id = requestIdOf(e);
            if ((e as Error).name === 'InvalidCiphertextException' && id) acked.requests.push({ id, op: 'Decrypt', outcome: 'Failure' });
            else throw e;
          }
        }
      }
    } catch {
      // Not acknowledged (the server died under it): it may or may not have happened.
    }
  }
}

async function verify(kms: KMSClient, acked: Acked, sql: postgres.Sql | null): Promise<void> {
  for (const id of acked.keys) {
    const ok = await kms.send(new DescribeKeyCommand({ KeyId: id })).then((r) => r.KeyMetadata?.KeyId === id, () => false);
    if (!rec.check(ok, `key ${id}`)) rec.lose(1, `key ${id}`);
  }
  for (const [keyId, s] of acked.states) {
    if (s.inFlight) continue; // killed mid-change: either state is right
    const state = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
    if (!rec.check(state === s.state, `state of ${keyId}: ${state} != ${s.state}`)) rec.lose(1, `state change of ${keyId}`);
  }
  for (const [alias, keyId] of acked.aliases) {
    const ok = await kms.send(new DescribeKeyCommand({ KeyId: alias })).then((r) => r.KeyMetadata?.KeyId === keyId, () => false);
    if (!rec.check(ok, `alias ${alias}`)) rec.lose(1, `alias ${alias}`);
  }
  const tagsByKey = new Map<string, Map<string, string>>();
  for (const t of acked.tags) {
    if (!tagsByKey.has(t.keyId)) {
      const list = (await kms.send(new ListResourceTagsCommand({ KeyId: t.keyId, Limit: 50 }))).Tags ?? [];
      tagsByKey.set(t.keyId, new Map(list.map((x) => [x.TagKey!, x.TagValue!])));
    }
    const ok = tagsByKey.get(t.keyId)!.get(t.key) === t.value;
    if (!rec.check(ok, `tag ${t.key}`)) rec.lose(1, `tag ${t.key} on ${t.keyId}`);
  }
  for (const c of acked.ciphertexts) {
    const ok = await kms
      .send(new DecryptCommand({ CiphertextBlob: c.blob, EncryptionContext: c.context }))
      .then((r) => Buffer.from(r.Plaintext!).equals(c.plaintext) && r.KeyId!.endsWith(c.keyId), () => false);
    if (!rec.check(ok, `ciphertext under ${c.keyId}`)) rec.lose(1, `ciphertext under ${c.keyId}`);
  }
  if (!sql) return;
  for (let i = 0; i < acked.requests.length; i += 500) {
    const batch = acked.requests.slice(i, i + 500);
    const rows = await sql<{ request_id: string; operation: string; outcome: string }[]>`
      select request_id, operation, outcome from audit_events where request_id in ${sql(batch.map((b) => b.id))}`;
    const found = new Map(rows.map((r) => [r.request_id, r]));
    for (const b of batch) {
      const row = found.get(b.id);
      const ok = row !== undefined && row.operation === b.op && row.outcome === b.outcome;
      if (!rec.check(ok, `audit event of ${b.op} ${b.id}`)) rec.lose(1, `audit event of ${b.op} ${b.id}`);
    }
  }
}

async function killCycle(server: CofferProcess, acked: Acked, loadMs: number): Promise<void> {
  const kms = server.client();
  const stop = { now: false };
  const workers = Array.from({ length: 8 }, (_, n) => worker(kms, acked, stop, n));
  // Some progress first (a loaded machine is slow), then the kill lands at a random point of the load.
  const start = { requests: acked.requests.length, ciphertexts: acked.ciphertexts.length };
  for (let waited = 0; waited < 30_000 && (acked.requests.length < start.requests + 80 || acked.ciphertexts.length === start.ciphertexts); waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, loadMs));
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGKILL');
  await exited;
  stop.now = true;
  await Promise.all(workers);
  kms.destroy();
}

describe('SIGKILL under a mixed load', () => {
  it('nothing acknowledged is lost across kill and restart (Postgres)', async () => {
    const db = await createTestDatabase({ allowPglite: false });
    if (!db) {
      rec.note('no Postgres available: SIGKILL test on Postgres not run');
      return;
    }
    dbs.push(db);
    const dataDir = tempDataDir('coffer-faults-');
    const acked: Acked = { keys: new Set(), aliases: new Map(), tags: [], ciphertexts: [], requests: [], states: new Map() };
    const cycles = SOAK ? 10 : 2;
    let server = await startCoffer({ dataDir, databaseUrl: db.url });
    for (let c = 0; c < cycles; c++) {
      await killCycle(server, acked, 1000 + Math.floor(Math.random() * 1500));
      server = await startCoffer({ dataDir, databaseUrl: db.url });
    }
    const sql = postgres(db.url!, { max: 2, onnotice: () => {} });
    const kms = server.client();
    try {
      await verify(kms, acked, sql);
      // And the restarted server still serves new work.
      expect((await kms.send(new ListKeysCommand({}))).Keys!.length).toBeGreaterThan(0);
    } finally {
      kms.destroy();
      await sql.end();
      await server.stop();
    }
    rec.note(`Postgres: ${cycles} kills; acknowledged before the kills: ${acked.keys.size} keys, ${acked.states.size} toggled key states, ${acked.aliases.size} aliases, ${acked.tags.length} tags, ${acked.ciphertexts.length} ciphertexts, ${acked.requests.length} requests`);
    expect(acked.keys.size).toBeGreaterThan(0);
    expect(acked.ciphertexts.length).toBeGreaterThan(0);
    expect(rec.counts.lost).toBe(0);
    expect(rec.counts.failures).toBe(0);
  }, SOAK ? 1_800_000 : 240_000);

  it('nothing acknowledged is lost across kill and restart (embedded PGlite in the data directory)', async () => {
    const dataDir = tempDataDir('coffer-faults-pglite-');
    const acked: Acked = { keys: new Set(), aliases: new Map(), tags: [], ciphertexts: [], requests: [], states: new Map() };
    let server = await startCoffer({ dataDir });
    await killCycle(server, acked, SOAK ? 8000 : 4000);
    server = await startCoffer({ dataDir });
    const kms = server.client();
    try {
      await verify(kms, acked, null);
    } finally {
      kms.destroy();
      await server.stop();
    }
    // PGlite is single-process: read the audit rows after the server has stopped.
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = new PGlite(join(dataDir, 'pglite'));
    try {
      const rows = await pg.query<{ request_id: string; operation: string; outcome: string }>('select request_id, operation, outcome from audit_events');
      const found = new Map(rows.rows.map((r) => [r.request_id, r]));
      for (const b of acked.requests) {
        const row = found.get(b.id);
        if (!rec.check(row?.operation === b.op && row?.outcome === b.outcome, `PGlite audit event of ${b.op}`)) rec.lose(1, `PGlite audit event of ${b.op} ${b.id}`);
      }
    } finally {
      await pg.close();
    }
    rec.note(`PGlite: 1 kill; acknowledged ${acked.keys.size} keys, ${acked.ciphertexts.length} ciphertexts, ${acked.requests.length} requests`);
    expect(acked.requests.length).toBeGreaterThan(0);
    expect(rec.counts.lost).toBe(0);
    expect(rec.counts.failures).toBe(0);
  }, SOAK ? 1_800_000 : 240_000);
});
