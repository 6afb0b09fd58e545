// Integration: the automatic rotation job rotates each due key exactly once when two instances (two database
// pools over one Postgres, one token) run it at the same time, and old ciphertexts still decrypt afterwards;
// imported key material expires at its ValidTo, and spent import wrapping key pairs are destroyed, through the same job.
import { constants, createPublicKey, publicEncrypt, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerOnlyAuthorizer } from '../../core/authorization.js';
import { eventIdsFrom } from '../../core/event-id.js';
import type { Caller } from '../../core/model.js';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { createKey } from '../../core/services/create-key.js';
import { decrypt, encrypt } from '../../core/services/encrypt.js';
import { enableKeyRotation, rotateDueKeys } from '../../core/services/rotation.js';
import { destroySpentWrappingKeys, expireImportedMaterial, getParametersForImport, importKeyMaterial } from '../../core/services/import-material.js';
import { DrizzleUnitOfWork } from '../../db/index.js';
import { ensureDevToken, openHsm, type Pkcs11Hsm } from '../../hsm/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let dataDir: string;
let hsm: Pkcs11Hsm;
let db: TestDatabase | null;
let a: DrizzleUnitOfWork;
let b: DrizzleUnitOfWork;
let now = new Date();

const caller: Caller = { arn: 'arn:aws:iam::111122223333:user/t', accountId: '111122223333', userName: 't', accessKeyId: 'AKIATEST' };
const ctx = (): RequestContext => ({ requestId: randomUUID(), operation: 'Test', caller, sourceIp: null, userAgent: null, audit: { recorded: false } });
const depsOf = (uow: DrizzleUnitOfWork): ServiceDeps => ({
  uow, hsm, clock: { now: () => now }, authorizer: ownerOnlyAuthorizer, region: 'us-east-1', newId: randomUUID, newEventId: eventIdsFrom(randomBytes),
});

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'coffer-rot-'));
  const token = await ensureDevToken({ dataDir, label: `coffer-rot-${randomUUID().slice(0, 8)}` });
  hsm = await openHsm({ ...token, poolSize: 4 });
  db = await createTestDatabase({ allowPglite: false });
  if (!db) return;
  a = await DrizzleUnitOfWork.open({ url: db.url! });
  b = await DrizzleUnitOfWork.open({ url: db.url! });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
  await hsm?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('automatic rotation job', () => {
  it('two instances rotate each due key exactly once; earlier ciphertexts still decrypt, new ones use the new version', async (t) => {
    if (!db) return t.skip();
    const da = depsOf(a);
    const keys = await Promise.all([1, 2, 3, 4, 5].map(() => createKey(da, ctx(), {})));
    const blobs = await Promise.all(keys.map((k) => encrypt(da, ctx(), { KeyId: k.id, Plaintext: new Uint8Array([1, 2, 3]) })));
    for (const k of keys.slice(0, 4)) await enableKeyRotation(da, ctx(), k.id, 90);
    expect(await rotateDueKeys(da)).toBe(0); // not due yet
    now = new Date(now.getTime() + 91 * 86_400_000);
    const [na, nb] = await Promise.all([rotateDueKeys(da), rotateDueKeys(depsOf(b))]);
    expect(na + nb).toBe(4);
    for (const [i, k] of keys.entries()) {
      const versions = await a.repos.keys.listVersions(k.id);
      expect(versions).toHaveLength(i < 4 ? 2 : 1);
      const current = (await a.repos.keys.get(k.accountId, k.id))!;
      expect(current.currentVersionId).toBe(versions[versions.length - 1]!.id);
      const dec = await decrypt(da, ctx(), { CiphertextBlob: blobs[i]!.ciphertext });
      expect([...dec.plaintext]).toEqual([1, 2, 3]);
      const fresh = await encrypt(da, ctx(), { KeyId: k.id, Plaintext: new Uint8Array([4]) });
      expect(Buffer.from(fresh.ciphertext.subarray(17, 33)).toString('hex')).toBe(current.currentVersionId.replaceAll('-', ''));
      const rotations = await a.repos.rotations.list(k.id, 10, null);
      expect(rotations.items.map((r) => r.rotationType)).toEqual(i < 4 ? ['AUTOMATIC'] : []);
    }
    expect(await rotateDueKeys(da)).toBe(0); // the next rotation is 90 days on
  });
});

describe('imported key material expiry', () => {
  it('deletes material at ValidTo once across two instances; re-importing the same material restores decryption', async (t) => {
    if (!db) return t.skip();
    const da = depsOf(a);
    const key = await createKey(da, ctx(), { Origin: 'EXTERNAL' });
    const material = randomBytes(32);
    const importOnce = async (validTo: Date | undefined) => {
      const p = await getParametersForImport(da, ctx(), { KeyId: key.id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
      const pub = createPublicKey({ key: Buffer.from(p.publicKey), format: 'der', type: 'spki' });
      const wrapped = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
      await importKeyMaterial(da, ctx(), { KeyId: key.id, ImportToken: p.importToken, EncryptedKeyMaterial: wrapped, ValidTo: validTo });
    };
    await importOnce(new Date(now.getTime() + 3_600_000));
    const blob = await encrypt(da, ctx(), { KeyId: key.id, Plaintext: new Uint8Array([9]) });
    expect(await expireImportedMaterial(da)).toBe(0);
    now = new Date(now.getTime() + 2 * 3_600_000);
    const [na, nb] = await Promise.all([expireImportedMaterial(da), expireImportedMaterial(depsOf(b))]);
    expect(na + nb).toBe(1);
    expect((await a.repos.keys.get(key.accountId, key.id))!.state).toBe('PendingImport');
    expect(await hsm.hasRootKey(key.currentVersionId)).toBe(false);
    await expect(decrypt(da, ctx(), { CiphertextBlob: blob.ciphertext })).rejects.toMatchObject({ code: 'KMSInvalidStateException' });
    await importOnce(undefined);
    expect([...(await decrypt(da, ctx(), { CiphertextBlob: blob.ciphertext })).plaintext]).toEqual([9]);
  });
  it('expiry of material pending rotation deletes that material alone: the key stays Enabled on its current material', async (t) => {
    if (!db) return t.skip();
    const da = depsOf(a);
    const key = await createKey(da, ctx(), { Origin: 'EXTERNAL' });
    const importOnce = async (material: Buffer, extra: { ValidTo?: Date; ImportType?: string }) => {
      const p = await getParametersForImport(da, ctx(), { KeyId: key.id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
      const pub = createPublicKey({ key: Buffer.from(p.publicKey), format: 'der', type: 'spki' });
      const wrapped = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
      await importKeyMaterial(da, ctx(), { KeyId: key.id, ImportToken: p.importToken, EncryptedKeyMaterial: wrapped, ...extra });
    };
    await importOnce(randomBytes(32), {});
    await importOnce(randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL', ValidTo: new Date(now.getTime() + 3_600_000) });
    const pending = (await a.repos.keys.listVersions(key.id))[1]!;
    expect(await hsm.hasRootKey(pending.id)).toBe(true);
    now = new Date(now.getTime() + 2 * 3_600_000);
    expect(await expireImportedMaterial(da)).toBe(1);
    expect(await hsm.hasRootKey(pending.id)).toBe(false);
    expect((await a.repos.keys.listVersions(key.id)).map((v) => v.id)).toEqual([key.currentVersionId]);
    expect((await a.repos.keys.get(key.accountId, key.id))!.state).toBe('Enabled');
    expect([...(await decrypt(da, ctx(), { CiphertextBlob: (await encrypt(da, ctx(), { KeyId: key.id, Plaintext: new Uint8Array([5]) })).ciphertext })).plaintext]).toEqual([5]);
  });
});

describe('import wrapping key pairs', () => {
  it('a used token\'s pair is destroyed at once and the token refused again; an unused one is destroyed by the job at expiry', async (t) => {
    if (!db) return t.skip();
    const da = depsOf(a);
    const key = await createKey(da, ctx(), { Origin: 'EXTERNAL' });
    const params = () => getParametersForImport(da, ctx(), { KeyId: key.id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const [used, unused] = [await params(), await params()];
    const sql = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      const stored = async () => (await sql<{ version_id: string }[]>`select version_id from import_wrapping_keys where key_id = ${key.id}`).map((r) => r.version_id);
      const ids = await stored();
      expect(ids).toHaveLength(2);
      const pubs = await Promise.all(ids.map(async (id) => Buffer.from(await hsm.publicKey(id, 'RSA_2048'))));
      const usedId = ids[pubs.findIndex((pub) => pub.equals(Buffer.from(used.publicKey)))]!;
      const unusedId = ids[pubs.findIndex((pub) => pub.equals(Buffer.from(unused.publicKey)))]!;
      const pub = createPublicKey({ key: Buffer.from(used.publicKey), format: 'der', type: 'spki' });
      const input = {
        KeyId: key.id, ImportToken: used.importToken, ValidTo: undefined,
        EncryptedKeyMaterial: publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32)),
      };
      await importKeyMaterial(da, ctx(), input);
      expect(await hsm.hasRootKey(usedId)).toBe(false);
      expect(await stored()).toEqual([unusedId]);
      await expect(importKeyMaterial(da, ctx(), input)).rejects.toMatchObject({ code: 'InvalidImportTokenException' });
      expect(await destroySpentWrappingKeys(da)).toBe(0); // the other token is still valid
      expect(await hsm.hasRootKey(unusedId)).toBe(true);
      now = new Date(now.getTime() + 24 * 3_600_000 + 1000);
      const [na, nb] = await Promise.all([destroySpentWrappingKeys(da), destroySpentWrappingKeys(depsOf(b))]);
      expect(na + nb).toBe(1);
      expect(await hsm.hasRootKey(unusedId)).toBe(false);
      expect(await stored()).toEqual([]);
    } finally {
      await sql.end();
    }
  });
});
