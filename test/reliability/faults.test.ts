// Faults: SIGKILL of the server under a mixed load, then a restart on the same data directory and database:
// every acknowledged key, alias, tag, rotation, grant (and revocation) and key policy is there, every acknowledged
// ciphertext decrypts (those made before a rotation too), every acknowledged request (success or refusal) has its
// audit event in the hash chain, and the chain verifies end to end.
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand,
  GenerateDataKeyCommand, GetKeyPolicyCommand, ListGrantsCommand, ListKeyRotationsCommand, ListKeysCommand, ListResourceTagsCommand,
  PutKeyPolicyCommand, RevokeGrantCommand, RotateKeyOnDemandCommand, TagResourceCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import type { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { verifyChain, type ChainEntry, type CheckpointEntry } from '../../sdk/audit/verify.js';
import { audit } from '../helpers/audit.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ACCOUNT, startCoffer, tempDataDir, type CofferProcess } from '../helpers/server.js';
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
  /** rotation: the acknowledged rotations of the key when it was made (older than a later rotation: must still decrypt). */
  ciphertexts: { blob: Uint8Array; plaintext: Buffer; context: Record<string, string>; keyId: string; rotation: number }[];
  requests: { id: string; op: string; outcome: 'Success' | 'Failure' }[];
  /** Keys whose state workers toggle: the last acknowledged state, unless a change was in flight at the kill. */
  states: Map<string, { state: 'Enabled' | 'Disabled'; inFlight: boolean }>;
  /** On-demand rotations per key: acknowledged, and whether one more was in flight at the kill. */
  rotations: Map<string, { done: number; inFlight: boolean }>;
  /** Grants acknowledged; revoked true once a RevokeGrant was acknowledged, null while one is in flight. */
  grants: { keyId: string; grantId: string; revoked: boolean | null }[];
  /** The last key policy acknowledged per key, and the one in flight at the kill (either may be stored). */
  policies: Map<string, { policy: string; pending: string | null }>;
}

const newAcked = (): Acked => ({
  keys: new Set(), aliases: new Map(), tags: [], ciphertexts: [], requests: [], states: new Map(), rotations: new Map(), grants: [], policies: new Map(),
});
const GRANTEE = `arn:aws:iam::${ACCOUNT}:user/faults-grantee`;
/** A policy that keeps the account in control (no lockout) and carries the tag, so each put is told apart. */
const policyOf = (tag: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: tag.replace(/[^A-Za-z0-9]/g, ''), Effect: 'Allow', Principal: { AWS: GRANTEE }, Action: 'kms:Encrypt', Resource: '*' },
    ],
  });

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
      const roll = mine.length === 0 ? 0 : i % 12;
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
          acked.ciphertexts.push({ blob: r.CiphertextBlob!, plaintext, context, keyId, rotation: acked.rotations.get(keyId)?.done ?? 0 });
          acked.requests.push({ id: requestIdOf(r)!, op: 'Encrypt', outcome: 'Success' });
        } else if (roll === 4) {
          const r = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
          acked.ciphertexts.push({ blob: r.CiphertextBlob!, plaintext: Buffer.from(r.Plaintext!), context: {}, keyId, rotation: acked.rotations.get(keyId)?.done ?? 0 });
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
        } else if (roll === 8) {
          const r = acked.rotations.get(keyId) ?? { done: 0, inFlight: false };
          if (r.done >= 20) continue; // stay below the limit of 25 on-demand rotations
          acked.rotations.set(keyId, { ...r, inFlight: true });
          const res = await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
          acked.rotations.set(keyId, { done: r.done + 1, inFlight: false });
          acked.requests.push({ id: requestIdOf(res)!, op: 'RotateKeyOnDemand', outcome: 'Success' });
        } else if (roll === 9) {
          const r = await kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: GRANTEE, Operations: ['Encrypt', 'Decrypt'], Name: tag }));
          acked.grants.push({ keyId, grantId: r.GrantId!, revoked: false });
          acked.requests.push({ id: requestIdOf(r)!, op: 'CreateGrant', outcome: 'Success' });
        } else if (roll === 10) {
          const policy = policyOf(tag);
          const p = acked.policies.get(keyId);
          acked.policies.set(keyId, { policy: p?.policy ?? '', pending: policy });
          const r = await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: policy }));
          acked.policies.set(keyId, { policy, pending: null });
          acked.requests.push({ id: requestIdOf(r)!, op: 'PutKeyPolicy', outcome: 'Success' });
        } else if (roll === 11 && i % 24 === 11 && acked.grants.some((g) => mine.includes(g.keyId) && g.revoked === false)) {
          // Every other turn only, so that about half the grants stay and must be listed after the kills.
          const g = acked.grants.find((x) => mine.includes(x.keyId) && x.revoked === false)!;
          g.revoked = null;
          const r = await kms.send(new RevokeGrantCommand({ KeyId: g.keyId, GrantId: g.grantId }));
          g.revoked = true;
          acked.requests.push({ id: requestIdOf(r)!, op: 'RevokeGrant', outcome: 'Success' });
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
    const got = await kms
      .send(new DecryptCommand({ CiphertextBlob: c.blob, EncryptionContext: c.context }))
      .then((r) => (Buffer.from(r.Plaintext!).equals(c.plaintext) && r.KeyId!.endsWith(c.keyId) ? 'ok' : 'another plaintext or key'), (e: Error) => `${e.name}: ${e.message}`);
    const r = acked.rotations.get(c.keyId);
    const what = `ciphertext under ${c.keyId} (made after rotation ${c.rotation}; ${r?.done ?? 0} acknowledged${r?.inFlight ? ', one in flight' : ''}): ${got}`;
    if (!rec.check(got === 'ok', what)) rec.lose(1, what);
  }
  await verifyAccess(kms, acked);
  if (!sql) return;
  for (let i = 0; i < acked.requests.length; i += 500) {
    const batch = acked.requests.slice(i, i + 500);
    checkAuditEvents(batch, await sql<AuditRow[]>`
      select request_id, operation, outcome, chain_seq from audit_events where request_id in ${sql(batch.map((b) => b.id))}`);
  }
}

/** Rotations listed (within the one in flight), grants listed unless revoked, each key policy as last put. */
async function verifyAccess(kms: KMSClient, acked: Acked): Promise<void> {
  for (const [keyId, r] of acked.rotations) {
    const n = ((await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 100 }))).Rotations ?? []).length;
    const ok = n >= r.done && n <= r.done + (r.inFlight ? 1 : 0);
    if (!rec.check(ok, `rotations of ${keyId}: ${n} listed, ${r.done} acknowledged`)) rec.lose(Math.max(0, r.done - n) || 1, `rotations of ${keyId}`);
  }
  const listed = new Map<string, Set<string>>();
  for (const g of acked.grants) {
    if (g.revoked === null) continue; // revocation in flight at the kill: either way is right
    if (!listed.has(g.keyId)) {
      const grants = (await kms.send(new ListGrantsCommand({ KeyId: g.keyId, Limit: 100 }))).Grants ?? [];
      listed.set(g.keyId, new Set(grants.map((x) => x.GrantId!)));
    }
    const ok = listed.get(g.keyId)!.has(g.grantId) === !g.revoked;
    if (!rec.check(ok, `grant ${g.grantId} ${g.revoked ? 'revoked but listed' : 'not listed'}`)) rec.lose(1, `grant ${g.revoked ? 'revocation' : ''} ${g.grantId}`);
  }
  for (const [keyId, p] of acked.policies) {
    const stored = JSON.stringify(JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy!));
    const same = (text: string) => text !== '' && stored === JSON.stringify(JSON.parse(text));
    // Killed mid-put: the put policy or the one before it (the default when none was acknowledged, which names no grantee).
    const ok = same(p.policy) || (p.pending !== null && (same(p.pending) || (p.policy === '' && !stored.includes(GRANTEE))));
    if (!rec.check(ok, `key policy of ${keyId}`)) rec.lose(1, `key policy of ${keyId}`);
  }
}

interface AuditRow { request_id: string; operation: string; outcome: string; chain_seq: number | string | null }

/** Every acknowledged request has its event, in the hash chain, with its operation and outcome. */
function checkAuditEvents(requests: Acked['requests'], rows: AuditRow[]): void {
  const found = new Map(rows.map((r) => [r.request_id, r]));
  for (const b of requests) {
    const row = found.get(b.id);
    const ok = row !== undefined && row.operation === b.op && row.outcome === b.outcome && row.chain_seq !== null;
    if (!rec.check(ok, `audit event of ${b.op} ${b.id}`)) rec.lose(1, `audit event of ${b.op} ${b.id}`);
  }
}

function progress(acked: Acked) {
  const count = (op: string) => acked.requests.filter((r) => r.op === op).length;
  return { requests: acked.requests.length, ciphertexts: acked.ciphertexts.length, rotations: count('RotateKeyOnDemand'), grants: count('CreateGrant'), policies: count('PutKeyPolicy') };
}

/** What the kills were survived with, for the summary, and the checks that the load did each kind of change. */
function tally(acked: Acked): string {
  const p = progress(acked);
  const olderThanRotation = acked.ciphertexts.filter((c) => c.rotation < (acked.rotations.get(c.keyId)?.done ?? 0)).length;
  expect(p.rotations, 'rotations acknowledged').toBeGreaterThan(0);
  expect(p.grants, 'grants acknowledged').toBeGreaterThan(0);
  expect(p.policies, 'key policies acknowledged').toBeGreaterThan(0);
  expect(olderThanRotation, 'ciphertexts made before a later rotation').toBeGreaterThan(0);
  return `${acked.keys.size} keys, ${acked.states.size} toggled key states, ${acked.aliases.size} aliases, ${acked.tags.length} tags, ` +
    `${p.rotations} rotations, ${p.grants} grants (${acked.grants.filter((g) => g.revoked).length} revoked), ${p.policies} key policies, ` +
    `${acked.ciphertexts.length} ciphertexts (${olderThanRotation} older than a rotation of their key), ${acked.requests.length} requests`;
}

/** The chain read from the embedded database, checked by the SDK's independent verifier (as `coffer audit verify` does). */
async function verifyPgliteChain(pg: PGlite) {
  const head = (await pg.query<{ base_seq: string; base_hash: string }>('select base_seq, base_hash from audit_chain_head where id = 1')).rows[0];
  const base = head ? { seq: Number(head.base_seq), hash: head.base_hash } : undefined;
  const checkpoints = (await pg.query<{ chain_seq: string; hash: string; time: Date; signature: string; public_key: string }>(
    'select chain_seq, hash, time, signature, public_key from audit_checkpoints order by chain_seq, id',
  )).rows.map((r): CheckpointEntry => ({ chainSeq: Number(r.chain_seq), hash: r.hash, time: new Date(r.time).toISOString(), signature: r.signature, publicKey: r.public_key }));
  const events = (await pg.query<{ chain_seq: string; prev_hash: string; hash: string; record: string }>(
    'select chain_seq, prev_hash, hash, record from audit_events where chain_seq is not null order by chain_seq',
  )).rows.map((r): ChainEntry => ({ chainSeq: Number(r.chain_seq), prevHash: r.prev_hash, hash: r.hash, record: r.record }));
  return verifyChain(events, checkpoints, { base });
}

async function killCycle(server: CofferProcess, acked: Acked, loadMs: number): Promise<void> {
  const kms = server.client();
  const stop = { now: false };
  const workers = Array.from({ length: 8 }, (_, n) => worker(kms, acked, stop, n));
  // Some progress of every kind first (a loaded machine is slow), then the kill lands at a random point of the load.
  const start = progress(acked);
  const enough = () => {
    const now = progress(acked);
    return now.requests >= start.requests + 80 && now.ciphertexts > start.ciphertexts && now.rotations > start.rotations && now.grants > start.grants && now.policies > start.policies;
  };
  for (let waited = 0; waited < 30_000 && !enough(); waited += 100) await new Promise((r) => setTimeout(r, 100));
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
    const before = { ...rec.counts, examples: [...rec.counts.examples] };
    const acked = newAcked();
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
      const chain = await audit('verify', '--database-url', db.url!);
      rec.check(chain.code === 0, `audit chain after the kills: ${chain.stderr.slice(0, 200)}`);
      expect(chain.stderr).toBe('');
      expect(chain.code).toBe(0);
      rec.note(`Postgres audit chain: ${chain.stdout.trim().split('\n')[0]}`);
    } finally {
      kms.destroy();
      await sql.end();
      await server.stop();
    }
    rec.note(`Postgres: ${cycles} kills; acknowledged before the kills: ${tally(acked)}`);
    expect(acked.keys.size).toBeGreaterThan(0);
    expect(acked.ciphertexts.length).toBeGreaterThan(0);
    expect(rec.counts.examples.slice(before.examples.length)).toEqual([]);
    expect(rec.counts.lost - before.lost).toBe(0);
    expect(rec.counts.failures - before.failures).toBe(0);
  }, SOAK ? 1_800_000 : 240_000);

  it('nothing acknowledged is lost across kill and restart (embedded PGlite in the data directory)', async () => {
    const dataDir = tempDataDir('coffer-faults-pglite-');
    const before = { ...rec.counts, examples: [...rec.counts.examples] };
    const acked = newAcked();
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
      checkAuditEvents(acked.requests, (await pg.query<AuditRow>('select request_id, operation, outcome, chain_seq from audit_events')).rows);
      const report = await verifyPgliteChain(pg);
      rec.check(report.ok, `PGlite audit chain: ${JSON.stringify(report.broken)}`);
      expect(report.broken).toBeNull();
      expect(report.events).toBeGreaterThanOrEqual(acked.requests.length);
      rec.note(`PGlite audit chain: ${report.events} events, ${report.checkpoints} checkpoints verified`);
    } finally {
      await pg.close();
    }
    rec.note(`PGlite: 1 kill; acknowledged ${tally(acked)}`);
    expect(acked.requests.length).toBeGreaterThan(0);
    expect(rec.counts.examples.slice(before.examples.length)).toEqual([]);
    expect(rec.counts.lost - before.lost).toBe(0);
    expect(rec.counts.failures - before.failures).toBe(0);
  }, SOAK ? 1_800_000 : 240_000);
});
