// COFFER_KEY_STORE=wrapped end to end: two servers sharing one Postgres database and one token, AES root keys kept
// wrapped in the database (hsm/wrapped-keys.ts). Every symmetric operation, rotation, import and deletion through the
// AWS SDK, with the rows of wrapped_key_material checked so that the test fails if the material went elsewhere.
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, DeleteImportedKeyMaterialCommand, EncryptCommand, GenerateDataKeyCommand, GetParametersForImportCommand,
  ImportKeyMaterialCommand, ReEncryptCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { failure, startCoffers, tempDataDir, type CofferProcess } from '../helpers/server.js';
import { wrap } from '../helpers/wrap-material.js';

const db = await createTestDatabase({ allowPglite: false });
const SKIP_REASON = 'skipped: no Postgres server answers; PGlite cannot be shared by two processes';
if (!db) console.warn(`wrapped-keys e2e ${SKIP_REASON}`);

const ENV = { COFFER_KEY_STORE: 'wrapped', COFFER_DELETION_JOB_INTERVAL_SECONDS: '0.5' };

let servers: CofferProcess[] = [];
let kmsA: KMSClient;
let kmsB: KMSClient;
let sql: postgres.Sql;
let dataDir: string;

/** Version ids of a key that have wrapped material. */
async function wrappedVersions(keyId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select v.id from key_versions v join wrapped_key_material w on w.version_id = v.id where v.key_id = ${keyId} order by v.version`;
  return rows.map((r) => r.id);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const plain = (p: Uint8Array | undefined) => Buffer.from(p ?? new Uint8Array());

describe.skipIf(!db)(db ? 'wrapped key material, two instances' : `wrapped key material (${SKIP_REASON})`, () => {
  beforeAll(async () => {
    const url = db?.url as string;
    dataDir = tempDataDir('coffer-e2e-wrapped-');
    // One first: it creates the token, the domain key and the schema; the other reuses them.
    servers = await startCoffers([{ dataDir, databaseUrl: url, env: ENV }]);
    servers.push(...(await startCoffers([{ dataDir, databaseUrl: url, env: ENV }])));
    kmsA = servers[0]!.client();
    kmsB = servers[1]!.client();
    sql = postgres(url, { max: 2, onnotice: () => {} });
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await sql?.end({ timeout: 5 });
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('Encrypt, Decrypt, GenerateDataKey and ReEncrypt across the instances, with the material wrapped in the database', async () => {
    const k1 = (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const k2 = (await kmsB.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    expect(await wrappedVersions(k1)).toHaveLength(1);
    expect(await wrappedVersions(k2)).toHaveLength(1);
    expect(servers[0]!.logs()).toMatch(/"keyStore":"wrapped"/);

    const EncryptionContext = { purpose: 'wrapped' };
    const enc = await kmsA.send(new EncryptCommand({ KeyId: k1, Plaintext: Buffer.from('secret'), EncryptionContext }));
    expect(plain((await kmsB.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext }))).Plaintext).toString()).toBe('secret');

    const dk = await kmsB.send(new GenerateDataKeyCommand({ KeyId: k1, KeySpec: 'AES_256' }));
    expect(plain((await kmsA.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).Plaintext)).toEqual(plain(dk.Plaintext));

    const re = await kmsA.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: EncryptionContext, DestinationKeyId: k2 }));
    expect(re.KeyId).toContain(k2);
    expect(plain((await kmsB.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob }))).Plaintext).toString()).toBe('secret');
  });

  it('rotation wraps each new version; old ciphertexts still decrypt on both instances', async () => {
    const k = (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const before = await kmsB.send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('v1') }));
    await kmsA.send(new RotateKeyOnDemandCommand({ KeyId: k }));
    await kmsB.send(new RotateKeyOnDemandCommand({ KeyId: k }));
    await until('three wrapped versions', async () => (await wrappedVersions(k)).length === 3);
    const after = await kmsB.send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('v3') }));
    for (const kms of [kmsA, kmsB]) {
      expect(plain((await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }))).Plaintext).toString()).toBe('v1');
      expect(plain((await kms.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob }))).Plaintext).toString()).toBe('v3');
    }
  });

  it('imported material is wrapped; deleting it removes the blob on both instances; re-importing brings old ciphertexts back', async () => {
    const k = (await kmsA.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const material = randomBytes(32);
    const importIt = async (kms: KMSClient) => {
      const p = await kms.send(new GetParametersForImportCommand({ KeyId: k, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      await kms.send(new ImportKeyMaterialCommand({
        KeyId: k, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap('RSAES_OAEP_SHA_256', p.PublicKey!, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }));
    };
    await importIt(kmsA);
    expect(await wrappedVersions(k)).toHaveLength(1);
    const enc = await kmsA.send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('imported') }));
    expect(plain((await kmsB.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext).toString()).toBe('imported');

    await kmsB.send(new DeleteImportedKeyMaterialCommand({ KeyId: k }));
    expect(await wrappedVersions(k)).toHaveLength(0);
    await until('A refuses the key without material', async () => {
      const e = await failure(kmsA.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).catch(() => null);
      return e?.name === 'KMSInvalidStateException';
    });

    await importIt(kmsB);
    await until('A decrypts again', async () => {
      const out = await kmsA.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })).catch(() => null);
      return plain(out?.Plaintext).toString() === 'imported';
    });
  });

  it('the deletion job destroys the wrapped material of every version of a deleted key', async () => {
    const k = (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kmsA.send(new RotateKeyOnDemandCommand({ KeyId: k }));
    const versions = await wrappedVersions(k);
    expect(versions).toHaveLength(2);
    await kmsB.send(new ScheduleKeyDeletionCommand({ KeyId: k, PendingWindowInDays: 7 }));
    await sql`update keys set deletion_date = now() - interval '1 second' where id = ${k}`;
    await until('the blobs are gone', async () => {
      const rows = await sql`select 1 from wrapped_key_material where version_id = any(${versions}::uuid[])`;
      return rows.length === 0;
    });
    expect((await failure(kmsB.send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('x') })))).name).toBe('NotFoundException');
  });
});
