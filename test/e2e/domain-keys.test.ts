// Domain-key rotation end to end (CofferAdmin.*, embedded PGlite, wrapped key store): rotate, the background job
// rewraps every key version under the new domain key, the old one is destroyed, and ciphertexts made before all of it
// still decrypt, also after a restart (the material is unwrapped afresh under the new key). Also through the CLI,
// refused to a principal without permission, and audited.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CofferClient } from '../../sdk/client.js';
import { AccessDeniedException, KMSInvalidStateException, ValidationException } from '../../sdk/errors.js';
import { createTestDatabase } from '../helpers/database.js';
import { ADMIN, REGION, startCoffer, startCoffers, tempDataDir, type CofferProcess } from '../helpers/server.js';
import { runCli } from '../sdk/cli-helpers.js';

const ENV = { COFFER_KEY_STORE: 'wrapped', COFFER_DELETION_JOB_INTERVAL_SECONDS: '0.5' };
let server: CofferProcess;
let dataDir: string;
const as = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new CofferClient({ endpoint: server.url, region: REGION, credentials, env: {}, maxAttempts: 1 });
let admin: CofferClient;

beforeAll(async () => {
  dataDir = tempDataDir('coffer-e2e-domain-keys-');
  server = await startCoffer({ dataDir, env: ENV });
  admin = as(ADMIN);
});
afterAll(async () => {
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const text = (s: string) => new TextEncoder().encode(s);

describe('domain-key rotation through the API', () => {
  it('rotates, rewraps in the background, destroys the retired key, and every ciphertext still decrypts, also after a restart', async () => {
    const before = await admin.admin.describeDomainKeys();
    expect(before.KeyStore).toBe('WRAPPED');
    expect(before.DomainKeys).toHaveLength(1);
    const old = before.DomainKeys[0]!;
    expect(old.State).toBe('ACTIVE');

    const keys = await Promise.all([1, 2, 3].map(() => admin.createKey({})));
    const sealed = await Promise.all(keys.map((k, i) => admin.encrypt({ KeyId: k.KeyMetadata!.KeyId, Plaintext: text(`message ${i}`) })));
    const rotated = await admin.admin.rotateDomainKey();
    expect(rotated.RetiredDomainKeyIds).toEqual([old.DomainKeyId]);
    expect(rotated.DomainKeyId).toMatch(/^[0-9a-f]{32}$/);

    const done = await until(
      'the rewrap job to move every key version',
      () => admin.admin.describeDomainKeys(),
      (r) => r.DomainKeys.find((k) => k.DomainKeyId === old.DomainKeyId)?.KeyVersionCount === 0,
    );
    expect(done.DomainKeys[0]).toMatchObject({ DomainKeyId: rotated.DomainKeyId, State: 'ACTIVE', KeyVersionCount: old.KeyVersionCount + 3 });
    expect(done.DomainKeys[1]).toEqual({ DomainKeyId: old.DomainKeyId, State: 'RETIRED', KeyVersionCount: 0, CreationDate: old.CreationDate });
    expect(done.DomainKeys[0]!.CreationDate!.getTime()).toBeGreaterThanOrEqual(old.CreationDate!.getTime());

    const active = await admin.admin.destroyDomainKey({ DomainKeyId: rotated.DomainKeyId }).catch((e: unknown) => e);
    expect(active).toBeInstanceOf(KMSInvalidStateException);
    expect(await admin.admin.destroyDomainKey({ DomainKeyId: old.DomainKeyId })).toEqual({ DomainKeyId: old.DomainKeyId });
    expect((await admin.admin.describeDomainKeys()).DomainKeys.map((k) => k.DomainKeyId)).toEqual([rotated.DomainKeyId]);

    await server.stop();
    server = await startCoffer({ dataDir, env: ENV });
    admin = as(ADMIN);
    for (const [i, s] of sealed.entries()) {
      expect(new TextDecoder().decode((await admin.decrypt({ CiphertextBlob: s.CiphertextBlob! })).Plaintext)).toBe(`message ${i}`);
    }

    const events = await admin.audit.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DestroyDomainKey' }] });
    const records = (events.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as { errorCode?: string; requestParameters?: { domainKeyId?: string } });
    expect(records.map((r) => [r.errorCode ?? 'ok', r.requestParameters?.domainKeyId]).sort()).toEqual(
      [['KMSInvalidStateException', rotated.DomainKeyId], ['ok', old.DomainKeyId]].sort(),
    );
  });

  it('a malformed domain key id is a ValidationException; a principal without permission is refused', async () => {
    expect(await admin.admin.destroyDomainKey({ DomainKeyId: 'ABC' }).catch((e: unknown) => e)).toBeInstanceOf(ValidationException);
    const UserName = `no-admin-${Date.now()}`;
    await admin.identity.createUser({ UserName });
    const { AccessKey } = await admin.identity.createAccessKey({ UserName });
    const user = as({ accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey });
    const refused = await user.admin.rotateDomainKey().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AccessDeniedException);
    expect((refused as Error).message).toMatch(/not authorized to perform: coffer:RotateDomainKey/);
    expect((await admin.admin.describeDomainKeys()).DomainKeys).toHaveLength(1);
  });

  it('coffer domain-keys list | rotate | destroy', async () => {
    const env = { COFFER_ENDPOINT: server.url, AWS_ACCESS_KEY_ID: ADMIN.accessKeyId, AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey };
    const json = async (...args: string[]) => {
      const r = await runCli([...args, '--output', 'json'], env);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const [first] = (await json('domain-keys', 'list')).DomainKeys as Array<{ DomainKeyId: string }>;
    const rotated = (await json('domain-keys', 'rotate')) as { DomainKeyId: string; RetiredDomainKeyIds: string[] };
    expect(rotated.RetiredDomainKeyIds).toEqual([first!.DomainKeyId]);
    await until('the rewrap', () => admin.admin.describeDomainKeys(), (r) => r.DomainKeys.find((k) => k.DomainKeyId === first!.DomainKeyId)?.KeyVersionCount === 0);
    expect(await json('domain-keys', 'destroy', first!.DomainKeyId)).toEqual({ DomainKeyId: first!.DomainKeyId });
    const table = await runCli(['domain-keys', 'list'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${rotated.DomainKeyId}\\s+ACTIVE`));
  });
});

const pg = await createTestDatabase({ allowPglite: false });

describe.skipIf(!pg)('domain-key rotation under load, two instances on one Postgres and one token', () => {
  let pair: CofferProcess[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = tempDataDir('coffer-e2e-domain-keys-pg-');
    pair = await startCoffers([{ dataDir: dir, databaseUrl: pg?.url, env: ENV }]);
    pair.push(...(await startCoffers([{ dataDir: dir, databaseUrl: pg?.url, env: ENV }])));
  });
  afterAll(async () => {
    await Promise.all(pair.map((p) => p.stop()));
    await pg?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('CreateKey, Encrypt, Decrypt and GenerateMac on both instances never fail while domain keys are rotated, rewrapped and destroyed', async () => {
    const clients = pair.map((p) => new CofferClient({ endpoint: p.url, region: REGION, credentials: ADMIN, env: {}, maxAttempts: 1 }));
    const [a, b] = clients as [CofferClient, CofferClient];
    const macKey = (await a.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!.KeyId;
    const mac = (await a.generateMac({ KeyId: macKey, Message: text('m'), MacAlgorithm: 'HMAC_SHA_256' })).Mac!;
    const sealed: Array<{ blob: Uint8Array; text: string }> = [];
    const failures: string[] = [];
    let stop = false;
    const worker = async (c: CofferClient, n: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const key = (await c.createKey({})).KeyMetadata!.KeyId;
          const t = `w${n}-${i}`;
          const other = c === a ? b : a;
          const blob = (await c.encrypt({ KeyId: key, Plaintext: text(t) })).CiphertextBlob!;
          expect(new TextDecoder().decode((await other.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe(t);
          expect((await other.verifyMac({ KeyId: macKey, Message: text('m'), Mac: mac, MacAlgorithm: 'HMAC_SHA_256' })).MacValid).toBe(true);
          sealed.push({ blob, text: t });
        } catch (e) {
          failures.push(`${(e as Error).name}: ${(e as Error).message}`);
        }
      }
    };
    const load = [worker(a, 0), worker(b, 1), worker(a, 2), worker(b, 3)];
    // Requests complete between every two steps, so the load overlaps each of them.
    const progress = async () => {
      const n = sealed.length + failures.length;
      await until('the load to go on', async () => sealed.length + failures.length, (m) => m >= n + 3);
    };
    let destroyed = 0;
    for (let round = 0; round < 3; round++) {
      const admin = round % 2 === 0 ? a : b;
      await progress();
      const { RetiredDomainKeyIds } = await admin.admin.rotateDomainKey();
      await progress();
      for (const id of RetiredDomainKeyIds) {
        await until('the rewrap job', () => admin.admin.describeDomainKeys(), (r) => r.DomainKeys.find((k) => k.DomainKeyId === id)?.KeyVersionCount === 0);
        // A key version wrapped under the retired key after the job's pass keeps it alive until the next pass.
        for (let attempt = 0; ; attempt++) {
          const e = await admin.admin.destroyDomainKey({ DomainKeyId: id }).then(() => null, (err: unknown) => err);
          if (e === null) break;
          expect(e).toBeInstanceOf(KMSInvalidStateException);
          if (attempt > 50) throw e as Error;
          await new Promise((r) => setTimeout(r, 200));
        }
        destroyed += 1;
        await progress();
      }
    }
    stop = true;
    await Promise.all(load);
    expect(failures).toEqual([]);
    expect(destroyed).toBeGreaterThanOrEqual(3);
    expect(sealed.length).toBeGreaterThanOrEqual(27);
    for (const { blob, text: t } of sealed) expect(new TextDecoder().decode((await b.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe(t);
    const keys = (await a.admin.describeDomainKeys()).DomainKeys;
    expect(keys.map((k) => k.State)).toEqual(['ACTIVE']);
  });
});
