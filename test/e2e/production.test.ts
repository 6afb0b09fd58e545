// Production surface through the real server: /readyz with its checks, /metrics, redacted JSON logs, graceful shutdown.
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GetParametersForImportCommand, GetPublicKeyCommand, ImportKeyMaterialCommand,
  SignCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { createPublicKey, generateKeyPairSync, randomBytes, verify as nodeVerify } from 'node:crypto';
import postgres from 'postgres';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ADMIN, failure, startCoffer, type CofferProcess } from '../helpers/server.js';
import { wrap } from '../helpers/wrap-material.js';

let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;
const SECRET_PLAINTEXT = 'plaintext-that-must-never-be-logged-7f3a';

beforeAll(async () => {
  db = await createTestDatabase({ allowPglite: false });
  if (!db) throw new Error('these tests need a Postgres server');
  server = await startCoffer({ databaseUrl: db.url, env: { COFFER_FIPS_MODE: '1' } });
  kms = server.client();
});

afterAll(async () => {
  kms?.destroy();
  await server?.stop();
  await db?.drop();
});

/**
 * A series' value, summed over workers: with COFFER_WORKERS > 1 (COFFER_TEST_WORKERS=auto) each sample carries a
 * `worker` label (server/cluster-metrics.ts), which is dropped before comparing. NaN when no sample matches.
 */
const metric = (text: string, series: string): number => {
  const values = text
    .split('\n')
    .map((l) => l.replace(/,?worker="\d+"/, '').replace('{}', ''))
    .filter((l) => l.startsWith(`${series} `))
    .map((l) => Number(l.slice(series.length + 1)));
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0);
};

/** The processes that run event loops: the workers when the server forked any, else the server itself. */
const servingPids = (pid: number): number[] => {
  const parentOf = (p: string) => {
    try {
      return Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    } catch {
      return -1; // gone
    }
  };
  const workers = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && parentOf(p) === pid).map(Number);
  return workers.length > 0 ? workers : [pid];
};

describe('readiness', () => {
  it('answers 200 with every known-answer test passed on SoftHSM (AES-GCM, ECDSA, HMAC)', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', selfTest: { 'aes-gcm': 'passed', ecdsa: 'passed', hmac: 'passed' } });
  });

  it('answers 503 naming "migrations" when the database lacks a migration of this build, and recovers', async () => {
    const sql = postgres(db!.url!, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`select id, hash, created_at from drizzle.__drizzle_migrations order by id desc limit 1`;
      await sql`delete from drizzle.__drizzle_migrations where id = ${row!.id}`;
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable', failing: ['migrations'] });
      await sql`insert into drizzle.__drizzle_migrations (id, hash, created_at) values (${row!.id}, ${row!.hash}, ${row!.created_at})`;
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await sql.end();
    }
  });

  it('says at start that FIPS mode is on and what it disables', () => {
    expect(server.logs()).toMatch(/"msg":"FIPS mode: non-approved fallbacks are refused"/);
    expect(server.logs()).toContain('in-process-oaep-decoding');
    expect(server.logs()).toContain('in-process-unwrap');
  });

  it('in FIPS mode refuses OAEP-SHA-256 decryption (decoded in process) but not OAEP-SHA-1 (in the token)', async () => {
    const key = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!;
    const Plaintext = new TextEncoder().encode('fips');
    for (const [EncryptionAlgorithm, refused] of [['RSAES_OAEP_SHA_256', true], ['RSAES_OAEP_SHA_1', false]] as const) {
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext, EncryptionAlgorithm }));
      const decrypt = kms.send(new DecryptCommand({ KeyId: key.KeyId, CiphertextBlob, EncryptionAlgorithm }));
      if (refused) expect((await failure(decrypt)).name).toBe('UnsupportedOperationException');
      else expect(new TextDecoder().decode((await decrypt).Plaintext)).toBe('fips');
    }
  });

  it('in FIPS mode refuses ImportKeyMaterial (unwrapped in process) for key pairs and HMAC keys, even with RSAES_OAEP_SHA_1', async () => {
    const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'der' });
    for (const [KeySpec, KeyUsage, material] of [['ECC_NIST_P256', 'SIGN_VERIFY', pkcs8], ['HMAC_256', 'GENERATE_VERIFY_MAC', randomBytes(32)]] as const) {
      const key = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', KeySpec, KeyUsage }))).KeyMetadata!;
      const p = await kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' }));
      const e = await failure(kms.send(new ImportKeyMaterialCommand({
        KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_1', p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      })));
      expect(e.name).toBe('UnsupportedOperationException');
      expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe('PendingImport');
    }
  });

  it('in FIPS mode imports an RSA private key wrapped with RSA_AES_KEY_WRAP_SHA_1 (C_UnwrapKey in the token), not with _SHA_256', async () => {
    const priv = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const material = priv.export({ type: 'pkcs8', format: 'der' });
    for (const [WrappingAlgorithm, refused] of [['RSA_AES_KEY_WRAP_SHA_256', true], ['RSA_AES_KEY_WRAP_SHA_1', false]] as const) {
      const key = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
      const p = await kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm, WrappingKeySpec: 'RSA_3072' }));
      const imported = kms.send(new ImportKeyMaterialCommand({
        KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(WrappingAlgorithm, p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }));
      if (refused) {
        expect((await failure(imported)).name).toBe('UnsupportedOperationException');
        continue;
      }
      await imported;
      const spki = Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }))).PublicKey!);
      expect(spki.equals(createPublicKey(priv).export({ type: 'spki', format: 'der' }))).toBe(true);
      const { Signature } = await kms.send(new SignCommand({ KeyId: key.KeyId, Message: Buffer.from('fips'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }));
      expect(nodeVerify('sha256', Buffer.from('fips'), createPublicKey(priv), Signature!)).toBe(true);
    }
  });
});

describe('thread priorities', () => {
  it('runs the event loop at the default priority and every other thread of the server lower (COFFER_HELPER_THREAD_NICE, 5)', () => {
    const pids = servingPids(server.child.pid as number);
    for (const pid of pids) {
      // Field 19 of /proc/<pid>/task/<tid>/stat is the nice value (fields counted after the parenthesised name).
      const niceOf = (tid: string) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
      const tids = readdirSync(`/proc/${pid}/task`);
      expect(niceOf(String(pid))).toBe(0);
      const helpers = tids.filter((t) => t !== String(pid));
      expect(helpers.length).toBeGreaterThanOrEqual(4); // libuv's pool at least
      expect(helpers.filter((t) => niceOf(t) === 5).length).toBeGreaterThanOrEqual(helpers.length - 1);
    }
    expect(server.logs().match(/"msg":"helper threads lowered"/g)?.length).toBe(pids.length);
  });
});

describe('metrics', () => {
  it('counts requests, errors, latency and audit writes per operation, and shows the session pool', async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    for (let i = 0; i < 3; i++) await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode(SECRET_PLAINTEXT) }));
    await failure(kms.send(new DecryptCommand({ CiphertextBlob: new Uint8Array(64) })));
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const after = await res.text();
    const delta = (s: string) => metric(after, s) - (Number.isNaN(metric(before, s)) ? 0 : metric(before, s));
    expect(delta('coffer_requests_total{operation="Encrypt",status="200"}')).toBe(3);
    expect(delta('coffer_request_duration_seconds_count{operation="Encrypt"}')).toBe(3);
    expect(delta('coffer_request_errors_total{operation="Decrypt",error="InvalidCiphertextException"}')).toBe(1);
    expect(delta('coffer_audit_writes_total')).toBe(5);
    // One request at a time: each Encrypt and the refused Decrypt is a group commit of its own (CreateKey commits
    // its event in its own transaction).
    expect(delta('coffer_audit_batches_total')).toBe(4);
    expect(metric(after, 'coffer_throttles_total')).toBe(0);
    expect(metric(after, 'coffer_hsm_sessions_max')).toBeGreaterThan(0);
    expect(metric(after, 'coffer_hsm_sessions_in_use')).toBe(0);
    expect(metric(after, 'coffer_audit_queue_depth')).toBe(0);
  });

  it('labels unknown targets "unknown" so a caller cannot grow the series', async () => {
    await fetch(server.url, { method: 'POST', headers: { 'x-amz-target': 'TrentService.Nope12345', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).not.toContain('Nope12345');
    expect(text).toMatch(/coffer_requests_total\{operation="unknown",status="400"(,worker="\d+")?\} \d+/);
  });
});

describe('logs', () => {
  it('are one JSON object a line, and hold no secret access key, plaintext or PIN', async () => {
    const lines = server.logs().trim().split('\n');
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(server.logs()).not.toContain(ADMIN.secretAccessKey);
    expect(server.logs()).not.toContain(SECRET_PLAINTEXT);
  });
});
