// Integration tests of the Hsm adapter's key pairs, signatures, RSA decryption, HMAC and ECDH on a real SoftHSM token,
// each result checked independently with node:crypto.
import {
  constants, createECDH, createHash, createHmac, createPublicKey, generateKeyPairSync, publicEncrypt, verify as nodeVerify,
} from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsymmetricSpec, SigningAlgorithm } from '../../core/key-spec.js';
import { ensureDevToken, openHsm, type Pkcs11Hsm } from '../../hsm/index.js';
import { acquireModule, ck, findSlot, releaseModule } from '../../hsm/module.js';
import { findVersionObjectTemplate } from '../../hsm/templates.js';

let dataDir: string;
let hsm: Pkcs11Hsm;
let token: Awaited<ReturnType<typeof ensureDevToken>>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'coffer-hsm-asym-'));
  token = await ensureDevToken({ dataDir, label: `coffer-asym-${randomUUID().slice(0, 8)}` });
  hsm = await openHsm({ ...token, poolSize: 2 });
});

afterAll(async () => {
  await hsm?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function pair(spec: AsymmetricSpec, usage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' | 'KEY_AGREEMENT') {
  const v = randomUUID();
  await hsm.createKeyPair(v, spec, usage);
  return { v, pub: createPublicKey({ key: Buffer.from(await hsm.publicKey(v, spec)), format: 'der', type: 'spki' }) };
}

/** Runs fn with a session of its own on the test token (the pool's sessions have logged the application in already). */
function withSession<T>(fn: (lib: ReturnType<typeof acquireModule>, s: Buffer) => T): T {
  const lib = acquireModule(token.modulePath);
  const s = lib.C_OpenSession(findSlot(lib, token.tokenLabel), ck.CKF_SERIAL_SESSION);
  try {
    return fn(lib, s);
  } finally {
    lib.C_CloseSession(s);
    releaseModule(token.modulePath);
  }
}

function privateHandle(lib: ReturnType<typeof acquireModule>, s: Buffer, v: string): Buffer {
  lib.C_FindObjectsInit(s, findVersionObjectTemplate(v, 'private'));
  const [h] = lib.C_FindObjects(s, 2);
  lib.C_FindObjectsFinal(s);
  return h!;
}

function expectSensitive(v: string): void {
  withSession((lib, s) => {
    const h = privateHandle(lib, s, v);
    const attrs = [ck.CKA_SENSITIVE, ck.CKA_EXTRACTABLE, ck.CKA_TOKEN].map((type) => lib.C_GetAttributeValue(s, h, [{ type }])[0]);
    expect(attrs.map((a) => (a!.value as Buffer)[0])).toEqual([1, 0, 1]);
    expect(() => lib.C_GetAttributeValue(s, h, [{ type: ck.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
  });
}

describe('key pairs in the token', () => {
  it('keeps the private key sensitive and non-extractable, with CKA_ID = version id', async () => {
    const { v } = await pair('ECC_NIST_P256', 'SIGN_VERIFY');
    expectSensitive(v);
  });

  it('keeps an imported private key sensitive and non-extractable, and its public key is the imported one', async () => {
    const v = randomUUID();
    const priv = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    await hsm.importKeyPair(v, 'ECC_NIST_P384', 'SIGN_VERIFY', priv.export({ type: 'pkcs8', format: 'der' }));
    expectSensitive(v);
    const spki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
    expect(Buffer.from(await hsm.publicKey(v, 'ECC_NIST_P384')).equals(spki)).toBe(true);
  });

  it('SoftHSM ignores the Ed25519ph flag of CKM_EDDSA (why ED25519_PH_SHA_512 is refused): the signature is the PureEdDSA one', async () => {
    const { v, pub } = await pair('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    const message = Buffer.from('prehash me');
    // CK_EDDSA_PARAMS on a 64-bit platform: phFlag (CK_BBOOL, padded to 8), ulContextDataLen 0, pContextData NULL.
    const phParams = Buffer.alloc(24);
    phParams[0] = 1;
    const [pure, prehashed] = withSession((lib, s) => {
      const h = privateHandle(lib, s, v);
      return [undefined, phParams].map((parameter) => {
        lib.C_SignInit(s, parameter ? { mechanism: 0x1057, parameter } : { mechanism: 0x1057 }, h);
        return lib.C_Sign(s, message, Buffer.alloc(64));
      });
    });
    expect(nodeVerify(null, message, pub, pure!)).toBe(true);
    expect(prehashed!.equals(pure!)).toBe(true);
  });

  const signCases: [AsymmetricSpec, SigningAlgorithm, string][] = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'prime256v1'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'secp384r1'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'secp521r1'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'secp256k1'],
    ['RSA_2048', 'RSASSA_PSS_SHA_256', ''],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_512', ''],
  ];
  for (const [spec, alg, curve] of signCases) {
    it(`${spec} ${alg}: the signature verifies with node:crypto, and in the token; a changed digest does not`, async () => {
      const { v, pub } = await pair(spec, 'SIGN_VERIFY');
      if (curve) expect(pub.asymmetricKeyDetails?.namedCurve).toBe(curve);
      const hash = `sha${alg.slice(-3)}`;
      const message = Buffer.from('message to sign');
      const digest = createHash(hash).update(message).digest();
      const sig = await hsm.sign(v, spec, alg, digest);
      const pss = alg.includes('PSS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digest.length } : {};
      expect(nodeVerify(hash, message, { key: pub, ...pss }, sig)).toBe(true);
      expect(await hsm.verify(v, spec, alg, digest, sig)).toBe(true);
      const other = createHash(hash).update('other').digest();
      expect(await hsm.verify(v, spec, alg, other, sig)).toBe(false);
      expect(await hsm.verify(v, spec, alg, digest, sig.subarray(1))).toBe(false);
    });
  }

  it('RSA OAEP SHA-1 and SHA-256: node:crypto ciphertexts decrypt; a changed byte is InvalidCiphertextException', async () => {
    const { v, pub } = await pair('RSA_2048', 'ENCRYPT_DECRYPT');
    for (const [alg, oaepHash] of [['RSAES_OAEP_SHA_1', 'sha1'], ['RSAES_OAEP_SHA_256', 'sha256']] as const) {
      const ct = publicEncrypt({ key: pub, oaepHash, padding: constants.RSA_PKCS1_OAEP_PADDING }, Buffer.from('secret'));
      expect(Buffer.from(await hsm.asymmetricDecrypt(v, 'RSA_2048', alg, ct)).toString()).toBe('secret');
      const bad = Buffer.from(ct);
      bad[100] = (bad[100] as number) ^ 1;
      await expect(hsm.asymmetricDecrypt(v, 'RSA_2048', alg, bad)).rejects.toMatchObject({ code: 'InvalidCiphertextException' });
    }
  });

  it('HMAC keys give the HMAC length of each spec and the same MAC for the same message', async () => {
    for (const [spec, len] of [['HMAC_224', 28], ['HMAC_256', 32], ['HMAC_384', 48], ['HMAC_512', 64]] as const) {
      const v = randomUUID();
      await hsm.createHmacKey(v, spec);
      const a = await hsm.mac(v, spec, Buffer.from('m'));
      expect(a.length).toBe(len);
      expect(Buffer.from(await hsm.mac(v, spec, Buffer.from('m'))).equals(Buffer.from(a))).toBe(true);
      expect(Buffer.from(await hsm.mac(v, spec, Buffer.from('n'))).equals(Buffer.from(a))).toBe(false);
      expect(createHmac(`sha${spec.slice(5)}`, Buffer.alloc(len)).update('m').digest().equals(Buffer.from(a))).toBe(false);
    }
  });

  it('ECDH gives the shared secret node:crypto computes from the other side', async () => {
    for (const [spec, curve] of [['ECC_NIST_P256', 'prime256v1'], ['ECC_NIST_P384', 'secp384r1'], ['ECC_NIST_P521', 'secp521r1']] as const) {
      const { v, pub } = await pair(spec, 'KEY_AGREEMENT');
      const other = createECDH(curve);
      other.generateKeys();
      const secret = await hsm.deriveSharedSecret(v, spec, other.getPublicKey());
      const ours = pub.export({ format: 'jwk' });
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(ours.x!, 'base64url'), Buffer.from(ours.y!, 'base64url')]);
      expect(Buffer.from(secret).equals(other.computeSecret(point))).toBe(true);
    }
  });

  it('destroyRootKey removes both halves of a pair', async () => {
    const { v } = await pair('ECC_NIST_P256', 'SIGN_VERIFY');
    expect(await hsm.hasRootKey(v)).toBe(true);
    await hsm.destroyRootKey(v);
    expect(await hsm.hasRootKey(v)).toBe(false);
  });
});

