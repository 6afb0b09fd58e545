// Integration: the synchronous AES-GCM path for small inputs (syncMaxBytes) against a real SoftHSM token.
import { createHash, createHmac, createPublicKey, randomUUID, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevToken, openHsm, type Pkcs11Hsm } from '../../hsm/index.js';
import { kmsErrorOf } from '../helpers/kms-error.js';

let dataDir: string;
let hsm: Pkcs11Hsm;
const aadOf = (iv: Uint8Array): Uint8Array => Buffer.concat([Buffer.from('header:'), iv]);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'coffer-hsm-sync-'));
  const token = await ensureDevToken({ dataDir, label: `coffer-sync-${randomUUID().slice(0, 8)}` });
  hsm = await openHsm({ ...token, poolSize: 2, syncMaxBytes: 64 });
});

afterAll(async () => {
  await hsm?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('synchronous AES-GCM for inputs up to syncMaxBytes', () => {
  it('round-trips inputs below, at and above the threshold, interchangeably with the async path', async () => {
    const v = randomUUID();
    await hsm.createRootKey(v);
    for (const size of [1, 48, 64, 65, 4096]) {
      const plaintext = Buffer.alloc(size, size & 0xff);
      const { iv, ciphertext } = await hsm.encrypt(v, plaintext, aadOf);
      expect(ciphertext.length).toBe(size + 16);
      expect(Buffer.from(await hsm.decrypt(v, iv, ciphertext, aadOf(iv))).equals(plaintext)).toBe(true);
    }
  });

  it('answers a tampered small ciphertext with InvalidCiphertextException and keeps its sessions working', async () => {
    const v = randomUUID();
    await hsm.createRootKey(v);
    const { iv, ciphertext } = await hsm.encrypt(v, Buffer.from('small secret'), aadOf);
    const flipped = Uint8Array.from(ciphertext, (b, i) => (i === 0 ? b ^ 1 : b));
    for (let i = 0; i < 4; i++) expect((await kmsErrorOf(hsm.decrypt(v, iv, flipped, aadOf(iv)))).code).toBe('InvalidCiphertextException');
    expect((await kmsErrorOf(hsm.encrypt(v, new Uint8Array(0), aadOf))).code).toBe('KMSInternalException');
    expect(Buffer.from(await hsm.decrypt(v, iv, ciphertext, aadOf(iv))).toString()).toBe('small secret');
  });

  it('seals and unseals credentials on the synchronous path', async () => {
    const sealed = await hsm.seal(Buffer.from('s'.repeat(40)), Buffer.from('aad'));
    expect(Buffer.from(await hsm.unseal(sealed, Buffer.from('aad'))).toString()).toBe('s'.repeat(40));
    expect((await kmsErrorOf(hsm.unseal(sealed, Buffer.from('other')))).code).toBe('InvalidCiphertextException');
  });
});

describe('synchronous signing calls (hsm/sync-calls.ts) while syncMaxBytes > 0', () => {
  it('signs with ECC_NIST_P256 on the synchronous path: node verifies the DER signature, the token verifies it, a wrong one is false', async () => {
    const v = randomUUID();
    await hsm.createKeyPair(v, 'ECC_NIST_P256', 'SIGN_VERIFY');
    const digest = createHash('sha256').update('signed synchronously').digest();
    const signature = await hsm.sign(v, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest);
    const publicKey = createPublicKey({ key: Buffer.from(await hsm.publicKey(v, 'ECC_NIST_P256')), format: 'der', type: 'spki' });
    expect(verify('sha256', Buffer.from('signed synchronously'), { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
    expect(await hsm.verify(v, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest, signature)).toBe(true);
    const other = createHash('sha256').update('something else').digest();
    expect(await hsm.verify(v, 'ECC_NIST_P256', 'ECDSA_SHA_256', other, signature)).toBe(false);
    expect(await hsm.verify(v, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest, Buffer.from('not DER'))).toBe(false);
  });

  it('computes HMACs up to syncMaxBytes synchronously and longer ones asynchronously, both equal to node:crypto', async () => {
    const v = randomUUID();
    const material = Buffer.alloc(32, 7);
    await hsm.importHmacKey(v, 'HMAC_256', material);
    for (const size of [1, 64, 65, 4096]) {
      const message = Buffer.alloc(size, size & 0xff);
      const mac = await hsm.mac(v, 'HMAC_256', message);
      expect(Buffer.from(mac).equals(createHmac('sha256', material).update(message).digest())).toBe(true);
    }
  });
});
