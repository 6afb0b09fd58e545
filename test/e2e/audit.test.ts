// End-to-end audit trail: two servers on one Postgres keep one chain, SIGKILL under load loses no answered request's
// event, LookupEvents pages in CloudTrail's shape, and checkpoints verify with node:crypto from GetPublicKey's key.
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, ReEncryptCommand, TagResourceCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ADMIN, startCoffer, tempDataDir, type CofferProcess } from '../helpers/server.js';
import { audit, call } from '../helpers/audit.js';

let db: TestDatabase;
const servers: CofferProcess[] = [];

beforeAll(async () => {
  const d = await createTestDatabase({ allowPglite: false });
  if (!d?.url) throw new Error('the audit e2e tests need Postgres (the local server or TEST_DATABASE_URL)');
  db = d;
});
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) await s.stop();
  await db?.drop();
});

async function start(dataDir: string): Promise<CofferProcess> {
  const s = await startCoffer({ dataDir, databaseUrl: db.url, env: { COFFER_AUDIT_CHECKPOINT_SECONDS: '3600' } });
  servers.push(s);
  return s;
}

/** Encrypt calls from `workers` loops until `stop()` says so; collects the request ids answered 2xx. */
function load(kms: KMSClient, keyId: string, workers: number) {
  const ok: string[] = [];
  let failed = 0;
  let stopping = false;
  const loops = Array.from({ length: workers }, async () => {
    while (!stopping) {
      try {
        const r = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode('load') }));
        ok.push(r.$metadata.requestId as string);
      } catch {
        failed += 1;
        if (failed > 10_000) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  });
  return { ok, stop: async () => ((stopping = true), await Promise.all(loops)) };
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
};

describe('audit trail end to end', () => {
  it('two server processes writing concurrently give one chain that verifies', async () => {
    const dataDir = tempDataDir();
    const [a, b] = [await start(dataDir), await start(dataDir)];
    const key = (await a!.client().send(new CreateKeyCommand({}))).KeyMetadata!;
    const la = load(a!.client(), key.KeyId!, 8);
    const lb = load(b!.client(), key.KeyId!, 8);
    await until(() => la.ok.length >= 100 && lb.ok.length >= 100);
    await la.stop();
    await lb.stop();
    const r = await audit('verify', '--database-url', db.url!);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const sql = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      const ids = new Set((await sql`select request_id from audit_events`).map((x) => x.request_id as string));
      for (const id of [...la.ok, ...lb.ok]) expect(ids.has(id)).toBe(true);
    } finally {
      await sql.end();
    }
    await a!.stop();
    await b!.stop();
  }, 120_000);

  it('after SIGKILL under load and a restart, every request answered 2xx has its event', async () => {
    const dataDir = tempDataDir();
    const s = await start(dataDir);
    const key = (await s.client().send(new CreateKeyCommand({}))).KeyMetadata!;
    const l = load(s.client(), key.KeyId!, 8);
    await until(() => l.ok.length >= 150);
    s.child.kill('SIGKILL');
    await l.stop();
    const again = await start(dataDir);
    const sql = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      const ids = new Set((await sql`select request_id from audit_events where operation = 'Encrypt'`).map((x) => x.request_id as string));
      const missing = l.ok.filter((id) => !ids.has(id));
      expect(missing).toEqual([]);
      expect(l.ok.length).toBeGreaterThanOrEqual(150);
    } finally {
      await sql.end();
    }
    expect((await audit('verify', '--database-url', db.url!)).code).toBe(0);
    await again.stop();
  }, 120_000);

  it('serves as a login role granted coffer_app (migrations over the owner URL), and that role cannot UPDATE audit rows', async () => {
    const owner = postgres(db.url!, { max: 1, onnotice: () => {} });
    const role = `coffer_e2e_${Math.random().toString(16).slice(2, 10)}`;
    const { DrizzleUnitOfWork } = await import('../../db/index.js');
    await (await DrizzleUnitOfWork.open({ url: db.url! })).close(); // creates coffer_app if this is the first migration
    await owner.unsafe(`create role ${role} login in role coffer_app`);
    try {
      const appUrl = new URL(db.url!);
      appUrl.username = role;
      const s = await startCoffer({ dataDir: tempDataDir(), databaseUrl: appUrl.toString(), env: { COFFER_MIGRATION_DATABASE_URL: db.url! } });
      servers.push(s);
      const key = (await s.client().send(new CreateKeyCommand({}))).KeyMetadata!;
      const enc = await s.client().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array([1]) }));
      const app = postgres(appUrl.toString(), { max: 1, onnotice: () => {} });
      try {
        expect((await app`select count(*)::int as n from audit_events where request_id = ${enc.$metadata.requestId!}`)[0]).toEqual({ n: 1 });
        await expect(app`update audit_events set operation = 'Decrypt' where request_id = ${enc.$metadata.requestId!}`).rejects.toMatchObject({ code: '42501' });
        await expect(app`delete from audit_events`).rejects.toMatchObject({ code: '42501' });
      } finally {
        await app.end();
      }
      await s.stop();
    } finally {
      await owner.unsafe(`drop owned by ${role}`).catch(() => {});
      await owner.unsafe(`drop role if exists ${role}`).catch(() => {});
      await owner.end();
    }
  }, 120_000);

  it('LookupEvents filters by key and event name and pages with NextToken; checkpoints verify from GetPublicKey', async () => {
    const s = await start(tempDataDir());
    const kms = s.client();
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    for (let i = 0; i < 3; i += 1) await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new Uint8Array([1]), EncryptionContext: { purpose: 'ctx-canary-7781' } }));
    const attrs = [{ AttributeKey: 'ResourceName', AttributeValue: key.Arn }, { AttributeKey: 'EventName', AttributeValue: 'Encrypt' }];
    const first = await call(s.url, 'CofferAudit.LookupEvents', { LookupAttributes: attrs, MaxResults: 2 });
    expect(first.status).toBe(200);
    const events = first.body.Events as Record<string, unknown>[];
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ EventName: 'Encrypt', EventSource: 'kms.amazonaws.com', ReadOnly: 'true', Username: 'admin', Resources: [{ ResourceType: 'AWS::KMS::Key', ResourceName: key.Arn }] });
    const record = JSON.parse(events[0]!.CloudTrailEvent as string) as Record<string, unknown>;
    expect(record).toMatchObject({ eventID: events[0]!.EventId, eventName: 'Encrypt', requestParameters: { keyId: key.KeyId, encryptionContext: { purpose: '***' } } });
    // Event ids are UUID v7 (core/event-id.ts): they begin with the event's time in milliseconds.
    const id = events[0]!.EventId as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const idMs = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(idMs - (idMs % 1000)).toBe(Date.parse(record.eventTime as string)); // eventTime has whole seconds
    expect(JSON.stringify(first.body)).not.toContain('ctx-canary-7781');
    const second = await call(s.url, 'CofferAudit.LookupEvents', { LookupAttributes: attrs, MaxResults: 2, NextToken: first.body.NextToken });
    expect(second.body.Events).toHaveLength(1);
    expect(second.body.NextToken).toBeUndefined();
    expect((await call(s.url, 'CofferAudit.LookupEvents', { NextToken: 'bogus' })).body.__type).toBe('ValidationException');
    expect((await call(s.url, 'CofferAudit.LookupEvents', { LookupAttributes: [{ AttributeKey: 'Nope', AttributeValue: 'x' }] })).status).toBe(400);

    const pk = await call(s.url, 'CofferAudit.GetPublicKey');
    const cp = await call(s.url, 'CofferAudit.CreateCheckpoint');
    expect(cp.status).toBe(200);
    const publicKey = createPublicKey({ key: Buffer.from(pk.body.PublicKey as string, 'base64'), format: 'der', type: 'spki' });
    const message = Buffer.from(`coffer-audit-checkpoint-v1\n${cp.body.ChainSeq}\n${cp.body.Hash}\n${cp.body.Time}`);
    expect(verify('sha256', message, publicKey, Buffer.from(cp.body.Signature as string, 'base64'))).toBe(true);
    expect((await audit('verify', '--database-url', db.url!, '--public-key', pk.body.PublicKey as string)).code).toBe(0);
    await s.stop();
  }, 120_000);

  it('canaries: plaintexts, context values, tag values, ciphertexts, data keys, the secret key and the PIN reach no audit record, log or export', async () => {
    const dataDir = tempDataDir();
    const s = await start(dataDir);
    const kms = s.client();
    const plain = 'plaintext-canary-4410';
    const key = (await kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'owner', TagValue: 'tag-canary-3391' }] }))).KeyMetadata!;
    const EncryptionContext = { tenant: 'ctx-canary-2205' };
    const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode(plain), EncryptionContext }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext }));
    const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: EncryptionContext, DestinationKeyId: key.KeyId, DestinationEncryptionContext: { t: 'ctx-canary-9917' } }));
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256', EncryptionContext }));
    await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k', TagValue: 'tag-canary-7730' }] }));
    await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { tenant: 'ctx-canary-wrong' } })).catch(() => {});
    const b64 = (b: Uint8Array | undefined) => Buffer.from(b!).toString('base64');
    const canaries = [
      plain, Buffer.from(plain).toString('base64'), 'ctx-canary', 'tag-canary', b64(enc.CiphertextBlob), b64(re.CiphertextBlob),
      b64(dk.Plaintext), b64(dk.CiphertextBlob), b64(dec.Plaintext), ADMIN.secretAccessKey, readFileSync(join(dataDir, 'pkcs11.pin'), 'utf8').trim(),
    ];
    const sql = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      const rows = JSON.stringify(await sql`select * from audit_events`) + JSON.stringify(await sql`select * from audit_checkpoints`);
      const lookup = JSON.stringify((await call(s.url, 'CofferAudit.LookupEvents', { MaxResults: 50 })).body);
      const exported = (await audit('export', '--database-url', db.url!, '--format', 'jsonl')).stdout;
      expect(exported).toContain('"eventName":"ReEncrypt"');
      for (const text of [rows, lookup, exported, s.logs()]) for (const c of canaries) expect(text).not.toContain(c);
    } finally {
      await sql.end();
    }
    await s.stop();
  }, 120_000);
});
