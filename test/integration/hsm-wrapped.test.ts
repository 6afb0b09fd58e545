// COFFER_KEY_STORE=wrapped against a real SoftHSM token and Postgres: AES root keys wrapped under a domain key and
// kept in the database, unwrapped on use into sensitive, non-extractable session objects (hsm/wrapped-keys.ts).
import { constants, createDecipheriv, createECDH, createHash, createHmac, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, randomUUID, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../core/errors.js';
import { DrizzleUnitOfWork } from '../../db/index.js';
import { ensureDevToken, openHsm, type DevToken, type Pkcs11Hsm } from '../../hsm/index.js';
import { acquireModule, ck, findObjects, findSlot, releaseModule, type Handle, type PKCS11 } from '../../hsm/module.js';
import { TOKEN_LOCK_CLASS } from '../../db/job-lock.js';
import { DOMAIN_KEY_LABEL, findVersionObjectsTemplate } from '../../hsm/templates.js';
import { WrappedKeys } from '../../hsm/wrapped-keys.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { kmsErrorOf } from '../helpers/kms-error.js';
import { wrap } from '../helpers/wrap-material.js';

let dataDir: string;
let token: DevToken;
let db: TestDatabase | null = null;
let sql: postgres.Sql;
const uows: DrizzleUnitOfWork[] = [];
const hsms: Pkcs11Hsm[] = [];
let hsm: Pkcs11Hsm;
let lib: PKCS11;
let s: Handle;

/** An Hsm in wrapped mode over its own unit of work (as another instance would have), holding at most `cache` use copies. */
async function wrappedHsm(cache: number): Promise<Pkcs11Hsm> {
  return (await lockedWrappedHsm(cache, 3, false)).h;
}

/** The same, with its token writes serialized across processes by the cluster-wide lock, as the server sets it up. */
async function lockedWrappedHsm(cache: number, poolSize = 2, lock = true): Promise<{ h: Pkcs11Hsm; uow: DrizzleUnitOfWork }> {
  const uow = await DrizzleUnitOfWork.open({ url: db?.url as string });
  uows.push(uow);
  const h = await openHsm({ ...token, poolSize });
  hsms.push(h);
  if (lock) h.serializeWritesWith((fn) => uow.exclusive('token-writes', fn));
  await h.useWrappedKeys(uow.wrappedKeys, cache);
  return { h, uow };
}

beforeAll(async () => {
  db = await createTestDatabase({ allowPglite: false });
  if (!db?.url) throw new Error('this test needs Postgres (the local server or TEST_DATABASE_URL)');
  sql = postgres(db.url, { max: 1, onnotice: () => {} });
  dataDir = mkdtempSync(join(tmpdir(), 'coffer-wrapped-'));
  token = await ensureDevToken({ dataDir, label: `coffer-wrapped-${randomUUID().slice(0, 8)}` });
  hsm = await wrappedHsm(4);
  lib = acquireModule(token.modulePath);
  s = lib.C_OpenSession(findSlot(lib, token.tokenLabel), ck.CKF_RW_SESSION | ck.CKF_SERIAL_SESSION);
});

afterAll(async () => {
  for (const h of hsms) await h.close();
  if (lib) releaseModule(token.modulePath);
  for (const u of uows) await u.close();
  await sql?.end({ timeout: 5 });
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const aadOf = (iv: Uint8Array): Uint8Array => Buffer.concat([Buffer.from('wrapped:'), iv]);

async function roundTrip(h: Pkcs11Hsm, versionId: string): Promise<void> {
  const plaintext = randomBytes(40);
  const { iv, ciphertext } = await h.encrypt(versionId, plaintext, aadOf);
  expect(Buffer.from(await h.decrypt(versionId, iv, ciphertext, aadOf(iv)))).toEqual(plaintext);
}

function find(template: Parameters<PKCS11['C_FindObjectsInit']>[1]): Handle[] {
  lib.C_FindObjectsInit(s, template);
  try {
    return lib.C_FindObjects(s, 100_000);
  } finally {
    lib.C_FindObjectsFinal(s);
  }
}

const sessionSecretKeys = () => find([{ type: ck.CKA_TOKEN, value: false }, { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY }]);
const flag = (h: Handle, type: number): boolean => (lib.C_GetAttributeValue(s, h, [{ type }])[0]?.value as Buffer)[0] === 1;

async function blobOf(versionId: string): Promise<Buffer | null> {
  const rows = await sql<{ blob: Buffer }[]>`select blob from wrapped_key_material where version_id = ${versionId}`;
  return rows[0]?.blob ?? null;
}

async function newKey(h: Pkcs11Hsm = hsm): Promise<string> {
  const v = randomUUID();
  await h.createRootKey(v);
  return v;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('wrapped root keys', () => {
  it('are kept in the database, not as token objects, and encrypt and decrypt', async () => {
    const v = await newKey();
    expect(find(findVersionObjectsTemplate(v))).toHaveLength(0);
    expect((await blobOf(v))?.length).toBe(89);
    expect(await hsm.hasRootKey(v)).toBe(true);
    await roundTrip(hsm, v);
    // The token holds the domain key, one for any number of versions.
    const domainKeys = find([{ type: ck.CKA_TOKEN, value: true }, { type: ck.CKA_LABEL, value: DOMAIN_KEY_LABEL }]);
    expect(domainKeys).toHaveLength(1);
    expect(flag(domainKeys[0] as Handle, ck.CKA_EXTRACTABLE)).toBe(false);
  });

  it('are used as sensitive, non-extractable session objects, and no extractable copy stays behind', async () => {
    const v = await newKey();
    await roundTrip(hsm, v);
    const copies = sessionSecretKeys();
    expect(copies.length).toBeGreaterThan(0);
    for (const h of copies) {
      expect(flag(h, ck.CKA_EXTRACTABLE)).toBe(false);
      expect(flag(h, ck.CKA_SENSITIVE)).toBe(true);
    }
    const domainKey = find([{ type: ck.CKA_TOKEN, value: true }, { type: ck.CKA_LABEL, value: DOMAIN_KEY_LABEL }])[0] as Handle;
    expect(() => lib.C_WrapKey(s, { mechanism: ck.CKM_AES_KEY_WRAP_PAD }, domainKey, copies[0] as Handle, Buffer.alloc(64))).toThrow(/CKR_KEY_UNEXTRACTABLE/);
  });

  it('keep at most the configured number of use copies, and every version still works', async () => {
    const versions = [];
    for (let i = 0; i < 7; i++) versions.push(await newKey());
    for (const v of versions) await roundTrip(hsm, v);
    expect(hsm.unwrappedKeys).toBe(4);
    expect(sessionSecretKeys().length).toBeLessThanOrEqual(4);
    for (const v of versions.reverse()) await roundTrip(hsm, v);
  });

  it('a damaged blob, or one copied from another version, gives a clean KMSInternalException', async () => {
    const damaged = await newKey();
    const blob = (await blobOf(damaged)) as Buffer;
    blob[60] = (blob[60] as number) ^ 1;
    await sql`update wrapped_key_material set blob = ${blob} where version_id = ${damaged}`;
    const e = await kmsErrorOf(hsm.encrypt(damaged, Buffer.from('x'), aadOf));
    expect(e.code).toBe('KMSInternalException');
    expect(e.message).toMatch(/damaged or does not belong/);

    const source = await newKey();
    const target = await newKey();
    await sql`update wrapped_key_material set blob = (select blob from wrapped_key_material where version_id = ${source}) where version_id = ${target}`;
    const swapped = await kmsErrorOf(hsm.encrypt(target, Buffer.from('x'), aadOf));
    expect(swapped.code).toBe('KMSInternalException');
    expect(swapped.message).toMatch(/damaged or does not belong/);
    await roundTrip(hsm, source);
  });

  it('a destroyed version is unusable at once here and, through the change feed, in another instance', async () => {
    const other = await wrappedHsm(16);
    const v = await newKey();
    await roundTrip(hsm, v);
    await roundTrip(other, v); // the other instance now holds its own use copy
    await hsm.destroyRootKey(v);
    expect(await blobOf(v)).toBeNull();
    expect(await hsm.hasRootKey(v)).toBe(false);
    expect((await kmsErrorOf(hsm.encrypt(v, Buffer.from('x'), aadOf))).code).toBe('KMSInternalException');
    await until(async () => {
      try {
        await other.encrypt(v, Buffer.from('x'), aadOf);
        return false;
      } catch (e) {
        return isKmsError(e) && e.code === 'KMSInternalException';
      }
    });
  });

  it('imported material is the material the key uses (checked by decrypting in process), and replacing it reaches other instances', async () => {
    const other = await wrappedHsm(16);
    const v = randomUUID();
    const first = randomBytes(32);
    await hsm.importRootKey(v, first);
    const decryptWith = async (h: Pkcs11Hsm, material: Buffer) => {
      const plaintext = randomBytes(20);
      const { iv, ciphertext } = await h.encrypt(v, plaintext, aadOf);
      const d = createDecipheriv('aes-256-gcm', material, iv).setAAD(aadOf(iv)).setAuthTag(ciphertext.subarray(-16));
      return Buffer.concat([d.update(ciphertext.subarray(0, -16)), d.final()]).equals(plaintext);
    };
    expect(await decryptWith(hsm, first)).toBe(true);
    expect(await decryptWith(other, first)).toBe(true);
    const second = randomBytes(32);
    await hsm.importRootKey(v, second);
    expect(await decryptWith(hsm, second)).toBe(true);
    await until(() => decryptWith(other, second).catch(() => false));
    expect((await kmsErrorOf(hsm.importRootKey(v, randomBytes(16)))).code).toBe('IncorrectKeyMaterialException');
  });

  it('survive the token dropping every session under load: only retryable failures, then round trips again', async () => {
    const versions = [await newKey(), await newKey()];
    const old = await hsm.encrypt(versions[0] as string, Buffer.from('before'), aadOf);
    const failures: unknown[] = [];
    let ok = 0;
    const worker = async (w: number) => {
      for (let i = 0; i < 60; i++) {
        if (i % 20 === 10 && w === 0) lib.C_CloseAllSessions(findSlot(lib, token.tokenLabel));
        try {
          await roundTrip(hsm, versions[i % 2] as string);
          ok++;
        } catch (e) {
          failures.push(e);
        }
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    s = lib.C_OpenSession(findSlot(lib, token.tokenLabel), ck.CKF_RW_SESSION | ck.CKF_SERIAL_SESSION);
    for (const e of failures) expect(isKmsError(e) && e.code === 'DependencyTimeoutException').toBe(true);
    expect(ok).toBeGreaterThan(0);
    for (const v of versions) await roundTrip(hsm, v);
    expect(Buffer.from(await hsm.decrypt(versions[0] as string, old.iv, old.ciphertext, aadOf(old.iv)))).toEqual(Buffer.from('before'));
  });
});

describe('wrapped HMAC keys', () => {
  it('every spec is kept in the database (format 2), not as a token object, and MACs as node:crypto does with the imported material', async () => {
    const message = Buffer.from('mac me');
    for (const [spec, bytes, blobBytes] of [['HMAC_224', 28, 86], ['HMAC_256', 32, 90], ['HMAC_384', 48, 122], ['HMAC_512', 64, 154]] as const) {
      const made = randomUUID();
      await hsm.createHmacKey(made, spec);
      expect(find(findVersionObjectsTemplate(made)), spec).toHaveLength(0);
      const blob = (await blobOf(made)) as Buffer;
      expect([blob.length, blob[0]], spec).toEqual([blobBytes, 2]);
      expect((await hsm.mac(made, spec, message)).length).toBe(bytes);

      const imported = randomUUID();
      const material = randomBytes(bytes);
      await hsm.importHmacKey(imported, spec, material);
      const expected = createHmac(`sha${bytes * 8}`, material).update(message).digest();
      expect(Buffer.from(await hsm.mac(imported, spec, message)), spec).toEqual(expected);
      // Another instance unwraps its own use copy of the same material.
      expect(Buffer.from(await (await wrappedHsm(4)).mac(imported, spec, message)), spec).toEqual(expected);
    }
  });

  it('imported material longer than the hash (AWS takes up to 64 or 128 bytes) is wrapped whole', async () => {
    for (const [spec, bytes] of [['HMAC_224', 64], ['HMAC_256', 64], ['HMAC_384', 128], ['HMAC_512', 128]] as const) {
      const v = randomUUID();
      const material = randomBytes(bytes);
      await hsm.importHmacKey(v, spec, material);
      const expected = createHmac(`sha${spec.slice(5)}`, material).update('long').digest();
      expect(Buffer.from(await (await wrappedHsm(4)).mac(v, spec, Buffer.from('long'))), spec).toEqual(expected);
    }
  });

  it('a blob moved to another version is refused, and a destroyed HMAC key is gone', async () => {
    const source = randomUUID();
    const target = randomUUID();
    await hsm.createHmacKey(source, 'HMAC_256');
    await hsm.createHmacKey(target, 'HMAC_256');
    await sql`update wrapped_key_material set blob = (select blob from wrapped_key_material where version_id = ${source}) where version_id = ${target}`;
    expect((await kmsErrorOf(hsm.mac(target, 'HMAC_256', Buffer.from('x')))).message).toMatch(/damaged or does not belong/);
    await hsm.destroyRootKey(source);
    expect(await hsm.hasRootKey(source)).toBe(false);
    expect((await kmsErrorOf(hsm.mac(source, 'HMAC_256', Buffer.from('x')))).code).toBe('KMSInternalException');
  });

  it('an HMAC key made as a token object before the switch to wrapped mode keeps working, and importing replaces it with a blob', async () => {
    const plain = await openHsm({ ...token, poolSize: 1 });
    hsms.push(plain);
    const v = randomUUID();
    await plain.createHmacKey(v, 'HMAC_256');
    expect(find(findVersionObjectsTemplate(v))).toHaveLength(1);
    const before = await hsm.mac(v, 'HMAC_256', Buffer.from('x'));
    expect(Buffer.from(await plain.mac(v, 'HMAC_256', Buffer.from('x')))).toEqual(Buffer.from(before));
    const material = randomBytes(32);
    await hsm.importHmacKey(v, 'HMAC_256', material);
    expect(find(findVersionObjectsTemplate(v))).toHaveLength(0);
    expect(Buffer.from(await hsm.mac(v, 'HMAC_256', Buffer.from('x')))).toEqual(createHmac('sha256', material).update('x').digest());
  });
});

describe('wrapped key pairs', () => {
  const message = Buffer.from('signed by a wrapped key');
  const digest = createHash('sha256').update(message).digest();

  it('EC and RSA signing pairs are kept in the database (format 3), sign as node:crypto verifies, and verify here and in another instance', async () => {
    for (const [spec, algorithm] of [['ECC_NIST_P256', 'ECDSA_SHA_256'], ['ECC_NIST_P384', 'ECDSA_SHA_256'], ['ECC_NIST_P521', 'ECDSA_SHA_256'], ['ECC_SECG_P256K1', 'ECDSA_SHA_256'], ['RSA_2048', 'RSASSA_PSS_SHA_256']] as const) {
      const v = randomUUID();
      await hsm.createKeyPair(v, spec, 'SIGN_VERIFY');
      expect(find(findVersionObjectsTemplate(v)), spec).toHaveLength(0);
      expect((await blobOf(v))?.[0], spec).toBe(3);
      const spki = Buffer.from(await hsm.publicKey(v, spec));
      const signature = Buffer.from(await hsm.sign(v, spec, algorithm, digest));
      const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
      const options = spec === 'RSA_2048' ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key;
      expect(nodeVerify('sha256', message, options, signature), spec).toBe(true);
      expect(await hsm.verify(v, spec, algorithm, digest, signature), spec).toBe(true);
      const other = await wrappedHsm(4);
      expect(Buffer.from(await other.publicKey(v, spec)), spec).toEqual(spki);
      expect(await other.verify(v, spec, algorithm, digest, signature), spec).toBe(true);
      expect(await other.verify(v, spec, algorithm, createHash('sha256').update('another').digest(), signature), spec).toBe(false);
      expect(nodeVerify('sha256', message, options, Buffer.from(await other.sign(v, spec, algorithm, digest))), spec).toBe(true);
    }
  });

  it('an RSA decryption pair decrypts what node:crypto encrypts to its public key; an EC key agreement pair derives the peer\'s secret', async () => {
    const rsa = randomUUID();
    await hsm.createKeyPair(rsa, 'RSA_2048', 'ENCRYPT_DECRYPT');
    const secret = randomBytes(32);
    const ciphertext = publicEncrypt({ key: createPublicKey({ key: Buffer.from(await hsm.publicKey(rsa, 'RSA_2048')), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
    expect(Buffer.from(await hsm.asymmetricDecrypt(rsa, 'RSA_2048', 'RSAES_OAEP_SHA_256', ciphertext))).toEqual(secret);

    const ec = randomUUID();
    await hsm.createKeyPair(ec, 'ECC_NIST_P256', 'KEY_AGREEMENT');
    const peer = createECDH('prime256v1');
    peer.generateKeys();
    const ours = createPublicKey({ key: Buffer.from(await hsm.publicKey(ec, 'ECC_NIST_P256')), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const ourPoint = Buffer.concat([Buffer.from([4]), Buffer.from(ours.x as string, 'base64url'), Buffer.from(ours.y as string, 'base64url')]);
    expect(Buffer.from(await hsm.deriveSharedSecret(ec, 'ECC_NIST_P256', peer.getPublicKey()))).toEqual(peer.computeSecret(ourPoint));
  });

  it('a blob moved to another version, or its public key changed, is refused before its public key is trusted', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await hsm.createKeyPair(a, 'ECC_NIST_P256', 'SIGN_VERIFY');
    await hsm.createKeyPair(b, 'ECC_NIST_P256', 'SIGN_VERIFY');
    await sql`update wrapped_key_material set blob = (select blob from wrapped_key_material where version_id = ${a}) where version_id = ${b}`;
    const fresh = await wrappedHsm(4);
    expect((await kmsErrorOf(fresh.publicKey(b, 'ECC_NIST_P256'))).message).toMatch(/damaged or does not belong/);
    expect((await kmsErrorOf(fresh.sign(b, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest))).message).toMatch(/damaged or does not belong/);

    const blob = (await blobOf(a)) as Buffer;
    blob[60] = (blob[60] as number) ^ 1; // inside the public key
    await sql`update wrapped_key_material set blob = ${blob} where version_id = ${a}`;
    const again = await wrappedHsm(4);
    expect((await kmsErrorOf(again.verify(a, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest, Buffer.alloc(64)))).message).toMatch(/damaged or does not belong/);
  });

  it('imported EC and RSA pairs are wrapped too: the public key is the imported one, and a re-import replaces it here and in another instance', async () => {
    const other = await wrappedHsm(4);
    for (const [spec, algorithm, make] of [
      ['ECC_NIST_P256', 'ECDSA_SHA_256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
      ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ] as const) {
      const v = randomUUID();
      const first = make();
      await hsm.importKeyPair(v, spec, 'SIGN_VERIFY', first.privateKey.export({ format: 'der', type: 'pkcs8' }));
      expect(find(findVersionObjectsTemplate(v)), spec).toHaveLength(0);
      expect((await blobOf(v))?.[0], spec).toBe(3);
      expect(Buffer.from(await hsm.publicKey(v, spec)), spec).toEqual(first.publicKey.export({ format: 'der', type: 'spki' }));
      expect(nodeVerify('sha256', message, first.publicKey, Buffer.from(await other.sign(v, spec, algorithm, digest))), spec).toBe(true);
      const second = make();
      await hsm.importKeyPair(v, spec, 'SIGN_VERIFY', second.privateKey.export({ format: 'der', type: 'pkcs8' }));
      expect(nodeVerify('sha256', message, second.publicKey, Buffer.from(await hsm.sign(v, spec, algorithm, digest))), spec).toBe(true);
      await until(async () => nodeVerify('sha256', message, second.publicKey, Buffer.from(await other.sign(v, spec, algorithm, digest))));
    }
  });

  it('an RSA pair imported under RSA_AES_KEY_WRAP_SHA_1 is unwrapped by the token into session objects and wrapped, not kept as token objects', async () => {
    const wrapping = randomUUID();
    await hsm.createWrappingKeyPair(wrapping, 'RSA_2048');
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const material = wrap('RSA_AES_KEY_WRAP_SHA_1', await hsm.publicKey(wrapping, 'RSA_2048'), pair.privateKey.export({ format: 'der', type: 'pkcs8' }));
    const v = randomUUID();
    const spki = await hsm.unwrapRsaKeyPair({ versionId: wrapping, spec: 'RSA_2048' }, material, { versionId: v, spec: 'RSA_2048', usage: 'SIGN_VERIFY' });
    expect(Buffer.from(spki ?? [])).toEqual(pair.publicKey.export({ format: 'der', type: 'spki' }));
    expect(find(findVersionObjectsTemplate(v))).toHaveLength(0);
    expect((await blobOf(v))?.[0]).toBe(3);
    const signature = Buffer.from(await (await wrappedHsm(4)).sign(v, 'RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', digest));
    expect(nodeVerify('sha256', message, pair.publicKey, signature)).toBe(true);
    // No extractable copy stays behind: not the transport key, not the private key the token unwrapped.
    expect(sessionSecretKeys().filter((h) => flag(h, ck.CKA_EXTRACTABLE))).toHaveLength(0);
    const privateCopies = find([{ type: ck.CKA_TOKEN, value: false }, { type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY }]);
    expect(privateCopies.length).toBeGreaterThan(0); // the use copies
    expect(privateCopies.filter((h) => flag(h, ck.CKA_EXTRACTABLE))).toHaveLength(0);
  });

  it('SoftHSM wraps private keys (the start-up probe says so); where a token cannot, new pairs stay token objects', async () => {
    expect(hsm.wrapsKeyPairs).toBe(true);
    const h = await wrappedHsm(4);
    h.wrapsKeyPairs = false; // as the probe leaves it on a token whose policy forbids wrapping private keys
    const v = randomUUID();
    await h.createKeyPair(v, 'ECC_NIST_P256', 'SIGN_VERIFY');
    expect(find(findVersionObjectsTemplate(v))).toHaveLength(2);
    expect(await blobOf(v)).toBeNull();
    const spki = createPublicKey({ key: Buffer.from(await hsm.publicKey(v, 'ECC_NIST_P256')), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', message, spki, Buffer.from(await hsm.sign(v, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest)))).toBe(true);
  });

  it('Ed25519 pairs, which SoftHSM cannot wrap, stay token objects and sign', async () => {
    const v = randomUUID();
    await hsm.createKeyPair(v, 'ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    expect(find(findVersionObjectsTemplate(v))).toHaveLength(2);
    expect(await blobOf(v)).toBeNull();
    const spki = createPublicKey({ key: Buffer.from(await hsm.publicKey(v, 'ECC_NIST_EDWARDS25519')), format: 'der', type: 'spki' });
    expect(nodeVerify(null, message, spki, Buffer.from(await hsm.sign(v, 'ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', message)))).toBe(true);
  });
});

describe('use copies in flight', () => {
  it('a use copy evicted while an operation holds it stays in the token until that operation ends', async () => {
    const uow = await DrizzleUnitOfWork.open({ url: db?.url as string });
    uows.push(uow);
    const slot = findSlot(lib, token.tokenLabel);
    const keys = new WrappedKeys(lib, () => lib.C_OpenSession(slot, ck.CKF_RW_SESSION | ck.CKF_SERIAL_SESSION), uow.wrappedKeys, 1);
    const alive = (h: Handle) => {
      try {
        lib.C_GetAttributeValue(s, h, [{ type: ck.CKA_CLASS }]);
        return true;
      } catch (e) {
        expect(String(e)).toMatch(/CKR_OBJECT_HANDLE_INVALID/);
        return false;
      }
    };
    try {
      keys.init();
      const [a, b] = [randomUUID(), randomUUID()];
      await keys.create(a);
      await keys.create(b);
      let held: Handle | null = null;
      await keys.leased(async () => {
        held = await keys.handle(a);
        // A second operation takes b: with room for one use copy, a's is evicted while the first still holds it.
        await keys.leased(async () => expect(await keys.handle(b)).not.toBeNull());
        expect(keys.size).toBe(1);
        expect(keys.retired).toBe(1);
        expect(alive(held!)).toBe(true);
      });
      expect(keys.retired).toBe(0);
      expect(alive(held!)).toBe(false);
    } finally {
      keys.close();
    }
  });
});

describe('token object writes across processes', () => {
  it('many transactions at once, each making a token object, all commit: the lock never waits for a pool connection they hold', async () => {
    const { h, uow } = await lockedWrappedHsm(4);
    // More transactions than the pool has connections (10), each holding one while it waits for the token write.
    const versions = Array.from({ length: 24 }, () => randomUUID());
    const all = Promise.all(versions.map((v) => uow.transaction(async (repos) => {
      await repos.keys.get('111122223333', v);
      await h.createKeyPair(v, 'ECC_NIST_EDWARDS25519', 'SIGN_VERIFY'); // SoftHSM cannot wrap Ed25519: a token object pair
    })));
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error('deadlocked: token writes waited for a pool connection')), 60_000))]);
    for (const v of versions) expect(find(findVersionObjectsTemplate(v))).toHaveLength(2);
  }, 90_000);

  it('wait for the cluster-wide token lock another process holds (COFFER_WORKERS, instances on one token); wrapped AES keys, HMAC keys and key pairs do not', async () => {
    const { h } = await lockedWrappedHsm(4);
    // Another process in the middle of a token write holds the lock.
    const other = await sql.reserve();
    await other`select pg_advisory_lock(${TOKEN_LOCK_CLASS}::int, hashtext('token-writes'))`;
    try {
      const v = randomUUID();
      let created = false;
      // Ed25519 pairs stay token objects (SoftHSM cannot wrap them).
      const creating = h.createKeyPair(v, 'ECC_NIST_EDWARDS25519', 'SIGN_VERIFY').then(() => (created = true));
      // A wrapped AES key, HMAC key or EC key pair writes no token object: it is made while the lock is held.
      const aes = randomUUID();
      const hmac = randomUUID();
      const pair = randomUUID();
      const wrappedOnes = Promise.all([h.createRootKey(aes), h.createHmacKey(hmac, 'HMAC_256'), h.createKeyPair(pair, 'ECC_NIST_P256', 'SIGN_VERIFY')]);
      // The lock stays held until this test lets go, so any bound tells waiting from not waiting: a generous one, since
      // this file shares a 2-core machine with another test file and Postgres.
      await Promise.race([wrappedOnes, new Promise((_, reject) => setTimeout(() => reject(new Error('waited for the token lock')), 20_000))]);
      expect(await h.hasRootKey(aes)).toBe(true);
      expect(await h.hasRootKey(hmac)).toBe(true);
      expect(await h.hasRootKey(pair)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(created).toBe(false);
      expect(findObjects(lib, s, findVersionObjectsTemplate(v))).toHaveLength(0);
      await other`select pg_advisory_unlock(${TOKEN_LOCK_CLASS}::int, hashtext('token-writes'))`;
      await creating;
      expect(findObjects(lib, s, findVersionObjectsTemplate(v))).toHaveLength(2);
    } finally {
      // A failed assertion above must not leave the lock held on a pooled connection for the tests after it.
      await other`select pg_advisory_unlock_all()`.catch(() => {});
      other.release();
    }
  });
});
