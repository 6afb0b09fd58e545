// Integration tests of the PKCS#11 Hsm adapter against a real SoftHSM token in a temporary data directory.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevToken, openHsm, type DevToken, type Pkcs11Hsm } from '../../hsm/index.js';
import { acquireModule, ck, findSlot, releaseModule, type Handle } from '../../hsm/module.js';
import { probe } from '../../hsm/probe.js';
import { findRootKeyTemplate } from '../../hsm/templates.js';
import { kmsErrorOf } from '../helpers/kms-error.js';

let dataDir: string;
let token: DevToken;
let hsm: Pkcs11Hsm;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'coffer-hsm-'));
  token = await ensureDevToken({ dataDir, label: `coffer-test-${randomUUID().slice(0, 8)}` });
  hsm = await openHsm({ ...token, poolSize: 3 });
});

afterAll(async () => {
  await hsm?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const aadOf = (iv: Uint8Array): Uint8Array => Buffer.concat([Buffer.from('header:'), iv]);

async function newKey(): Promise<string> {
  const v = randomUUID();
  await hsm.createRootKey(v);
  return v;
}

describe('dev token', () => {
  it('is idempotent and keeps its PINs in 0600 files', async () => {
    const again = await ensureDevToken({ dataDir, label: token.tokenLabel });
    expect(again.pin).toBe(token.pin);
    expect(token.pin).toMatch(/^[0-9a-f]{32}$/);
    for (const f of ['pkcs11.pin', 'pkcs11.so-pin']) expect(statSync(join(dataDir, f)).mode & 0o777).toBe(0o600);
    expect(process.env.SOFTHSM2_CONF).toBe(join(dataDir, 'softhsm2.conf'));
  });

  it('initialises a second token in-process and uses it while the library stays initialised', async () => {
    const second = await ensureDevToken({ dataDir, label: `${token.tokenLabel}-b` });
    const other = await openHsm({ ...second, poolSize: 2 });
    try {
      const v = randomUUID();
      await other.createRootKey(v);
      expect(await other.hasRootKey(v)).toBe(true);
      expect(await hsm.hasRootKey(v)).toBe(false); // another token
    } finally {
      await other.close();
    }
  });
});

describe('openHsm', () => {
  it('names the missing label and the labels it saw', async () => {
    const e = await kmsErrorOf(openHsm({ ...token, tokenLabel: 'no-such-token' }));
    expect(e.message).toContain('"no-such-token"');
    expect(e.message).toContain(JSON.stringify(token.tokenLabel));
  });

  it('probe reports the required mechanisms', () => {
    const m = hsm.capabilities.mechanisms;
    expect(m.CKM_AES_GCM).toMatchObject({ encrypt: true, decrypt: true });
    expect(m.CKM_AES_KEY_GEN?.generate).toBe(true);
    expect(m.CKM_AES_KEY_GEN?.maxKeySize).toBeGreaterThanOrEqual(32);
    expect(hsm.capabilities.optional.CKM_AES_KEY_WRAP_PAD).toBe(true);
  });

  it('probe names every missing required mechanism', () => {
    const bare = { C_GetMechanismList: () => [ck.CKM_SHA256], C_GetMechanismInfo: () => ({ minKeySize: 0, maxKeySize: 0, flags: 0 }) };
    expect(() => probe(bare as never, Buffer.alloc(8))).toThrow(/CKM_AES_KEY_GEN.*CKM_AES_GCM/);
  });
});

describe('root keys', () => {
  it('encrypts and decrypts a round trip', async () => {
    const v = await newKey();
    const plaintext = Buffer.from('attack at dawn');
    const { iv, ciphertext } = await hsm.encrypt(v, plaintext, aadOf);
    expect(ciphertext.length).toBe(plaintext.length + 16);
    expect(Buffer.from(ciphertext.subarray(0, plaintext.length)).equals(plaintext)).toBe(false);
    expect(Buffer.from(await hsm.decrypt(v, iv, ciphertext, aadOf(iv))).toString()).toBe('attack at dawn');
  });

  it('gives every Encrypt its own 12-byte IV, across refills of the IV pool and concurrent calls, and each decrypts', async () => {
    const v = await newKey();
    const sealed = await Promise.all(Array.from({ length: 700 }, (_, i) => hsm.encrypt(v, Buffer.from(`m${i}`), aadOf)));
    expect(sealed.every(({ iv }) => iv.length === 12)).toBe(true);
    expect(new Set(sealed.map(({ iv }) => Buffer.from(iv).toString('hex'))).size).toBe(700);
    const samples = [0, 255, 256, 511, 512, 699];
    for (const i of samples) expect(Buffer.from(await hsm.decrypt(v, sealed[i]!.iv, sealed[i]!.ciphertext, aadOf(sealed[i]!.iv))).toString()).toBe(`m${i}`);
  });

  it('refuses an empty plaintext (SoftHSM would leave the operation active) and keeps working', async () => {
    const v = await newKey();
    expect((await kmsErrorOf(hsm.encrypt(v, new Uint8Array(0), aadOf))).code).toBe('KMSInternalException');
    expect((await kmsErrorOf(hsm.seal(new Uint8Array(0), Buffer.from('a')))).code).toBe('KMSInternalException');
    const { iv, ciphertext } = await hsm.encrypt(v, Buffer.from('y'), aadOf);
    expect((await kmsErrorOf(hsm.decrypt(v, iv, ciphertext.subarray(1), aadOf(iv)))).code).toBe('InvalidCiphertextException');
    expect(Buffer.from(await hsm.decrypt(v, iv, ciphertext, aadOf(iv))).toString()).toBe('y');
  });

  it('rejects a wrong AAD, a tampered tag or body, and another key with InvalidCiphertextException', async () => {
    const v = await newKey();
    const other = await newKey();
    const { iv, ciphertext } = await hsm.encrypt(v, Buffer.from('secret data'), aadOf);
    const flip = (i: number): Uint8Array => Uint8Array.from(ciphertext, (b, j) => (j === i ? b ^ 1 : b));
    const cases = [
      () => hsm.decrypt(v, iv, ciphertext, Buffer.from('header:wrong')),
      () => hsm.decrypt(v, iv, flip(ciphertext.length - 1), aadOf(iv)),
      () => hsm.decrypt(v, iv, flip(0), aadOf(iv)),
      () => hsm.decrypt(other, iv, ciphertext, aadOf(iv)),
      () => hsm.decrypt(v, iv, ciphertext.subarray(0, 15), aadOf(iv)),
      () => hsm.decrypt(v, iv.subarray(0, 11), ciphertext, aadOf(iv)),
    ];
    for (const c of cases) expect((await kmsErrorOf(c())).code).toBe('InvalidCiphertextException');
    // SoftHSM reports the tag mismatch as CKR_GENERAL_ERROR and ends the operation: the sessions carry on.
    expect(Buffer.from(await hsm.decrypt(v, iv, ciphertext, aadOf(iv))).toString()).toBe('secret data');
  });

  it('uses 12-byte IVs, fresh for every encryption', async () => {
    const v = await newKey();
    const a = await hsm.encrypt(v, Buffer.from('same'), aadOf);
    const b = await hsm.encrypt(v, Buffer.from('same'), aadOf);
    expect(a.iv.length).toBe(12);
    expect(b.iv.length).toBe(12);
    expect(Buffer.from(a.iv).equals(b.iv)).toBe(false);
    expect(Buffer.from(a.ciphertext).equals(b.ciphertext)).toBe(false);
  });

  it('passes the IV it used to aadFor', async () => {
    const v = await newKey();
    let seen: Uint8Array | undefined;
    const { iv, ciphertext } = await hsm.encrypt(v, Buffer.from('x'), (iv) => ((seen = iv), aadOf(iv)));
    expect(seen && Buffer.from(seen).equals(iv)).toBe(true);
    await hsm.decrypt(v, iv, ciphertext, aadOf(iv));
  });

  it('keeps root keys sensitive and non-extractable', async () => {
    const v = await newKey();
    const lib = acquireModule(token.modulePath);
    const s = lib.C_OpenSession(findSlot(lib, token.tokenLabel), ck.CKF_SERIAL_SESSION);
    try {
      lib.C_FindObjectsInit(s, findRootKeyTemplate(v));
      const handles = lib.C_FindObjects(s, 4);
      lib.C_FindObjectsFinal(s);
      expect(handles).toHaveLength(1);
      const key = handles[0] as Handle;
      expect(() => lib.C_GetAttributeValue(s, key, [{ type: ck.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      const [extractable, sensitive, len, wrap, id] = lib.C_GetAttributeValue(s, key, [
        { type: ck.CKA_EXTRACTABLE }, { type: ck.CKA_SENSITIVE }, { type: ck.CKA_VALUE_LEN }, { type: ck.CKA_WRAP }, { type: ck.CKA_ID },
      ]);
      expect(extractable?.value[0]).toBe(0);
      expect(sensitive?.value[0]).toBe(1);
      expect(len?.value.readUInt32LE(0)).toBe(32);
      expect(wrap?.value[0]).toBe(0);
      expect(id?.value.toString('hex')).toBe(v.replace(/-/g, ''));
    } finally {
      lib.C_CloseSession(s);
      releaseModule(token.modulePath);
    }
  });

  it('creates idempotently and destroys idempotently; decrypt fails after destroy', async () => {
    const v = await newKey();
    await hsm.createRootKey(v);
    expect(await hsm.hasRootKey(v)).toBe(true);
    const { iv, ciphertext } = await hsm.encrypt(v, Buffer.from('gone soon'), aadOf);
    await hsm.destroyRootKey(v);
    expect(await hsm.hasRootKey(v)).toBe(false);
    expect((await kmsErrorOf(hsm.decrypt(v, iv, ciphertext, aadOf(iv)))).code).toBe('KMSInternalException');
    await hsm.destroyRootKey(v);
    expect(await hsm.hasRootKey(randomUUID())).toBe(false);
  });

  it('rejects a version id that is not a UUID', async () => {
    expect((await kmsErrorOf(hsm.createRootKey('not-a-uuid'))).code).toBe('KMSInternalException');
  });

  it('runs 64 concurrent encrypts on a pool of 3 sessions', async () => {
    const v = await newKey();
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => hsm.encrypt(v, Buffer.from(`message ${i}`), aadOf)),
    );
    expect(new Set(results.map((r) => Buffer.from(r.iv).toString('hex'))).size).toBe(64);
    const back = await Promise.all(results.map((r) => hsm.decrypt(v, r.iv, r.ciphertext, aadOf(r.iv))));
    expect(back.map((b) => Buffer.from(b).toString())).toEqual(Array.from({ length: 64 }, (_, i) => `message ${i}`));
    expect(hsm.pool.openCount).toBeLessThanOrEqual(3);
  });

  it('creates 120 keys and key pairs at once on a pool of 8, every one usable (SoftHSM#573 failed some)', async () => {
    const eight = await openHsm({ ...token, poolSize: 8 });
    try {
      const roots = Array.from({ length: 60 }, () => randomUUID());
      const pairs = Array.from({ length: 60 }, () => randomUUID());
      const made = await Promise.allSettled([
        ...roots.map((v) => eight.createRootKey(v)),
        ...pairs.map((v) => eight.createKeyPair(v, 'ECC_NIST_P256', 'SIGN_VERIFY')),
      ]);
      expect(made.filter((r) => r.status === 'rejected')).toEqual([]);
      for (const v of roots) {
        const { iv, ciphertext } = await eight.encrypt(v, Buffer.from('x'), aadOf);
        expect(Buffer.from(await eight.decrypt(v, iv, ciphertext, aadOf(iv))).toString()).toBe('x');
      }
      for (const v of pairs) expect((await eight.publicKey(v, 'ECC_NIST_P256')).length).toBe(91);
    } finally {
      await eight.close();
    }
  });
});

describe('credentials and randomness', () => {
  it('seals and unseals; a wrong AAD or a tampered blob fails', async () => {
    const secret = Buffer.from('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    const sealed = await hsm.seal(secret, Buffer.from('AKIA1'));
    expect(sealed.length).toBe(12 + secret.length + 16);
    expect(Buffer.from(await hsm.unseal(sealed, Buffer.from('AKIA1'))).equals(secret)).toBe(true);
    expect((await kmsErrorOf(hsm.unseal(sealed, Buffer.from('AKIA2')))).code).toBe('InvalidCiphertextException');
    const tampered = Uint8Array.from(sealed, (b, i) => (i === 20 ? b ^ 0x80 : b));
    expect((await kmsErrorOf(hsm.unseal(tampered, Buffer.from('AKIA1')))).code).toBe('InvalidCiphertextException');
    expect((await kmsErrorOf(hsm.unseal(sealed.subarray(0, 27), Buffer.from('AKIA1')))).code).toBe('InvalidCiphertextException');
  });

  it('generates random bytes of the asked length', async () => {
    const a = await hsm.generateRandom(32);
    const b = await hsm.generateRandom(32);
    expect(a.length).toBe(32);
    expect(Buffer.from(a).equals(b)).toBe(false);
    expect((await kmsErrorOf(hsm.generateRandom(0))).code).toBe('KMSInternalException');
  });
});

describe('session pool', () => {
  it('never has more operations in flight than sessions', async () => {
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        hsm.pool.withSession(async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight -= 1;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('serves waiters first in, first out', async () => {
    const order: number[] = [];
    const held = await Promise.all([hsm.pool.acquire(), hsm.pool.acquire(), hsm.pool.acquire()]);
    const waiting = [1, 2, 3].map((n) => hsm.pool.acquire().then((s) => (order.push(n), hsm.pool.release(s))));
    for (const s of held) hsm.pool.release(s);
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
  });

  it('drops a session that went bad and opens a logged-in one in its place', async () => {
    const lib = acquireModule(token.modulePath);
    try {
      const e = await kmsErrorOf(
        hsm.generateRandom(1).then(() =>
          (hsm as unknown as { run: (op: string, fn: (s: Handle) => Promise<void>) => Promise<void> }).run('other', async (s) => {
            lib.C_CloseSession(s);
            lib.C_GenerateRandom(s, Buffer.alloc(4));
          }),
        ),
      );
      expect(e.code).toBe('DependencyTimeoutException');
      const v = await newKey();
      const many = await Promise.all(Array.from({ length: 9 }, () => hsm.encrypt(v, Buffer.from('ok'), aadOf)));
      expect(many).toHaveLength(9);
      expect(await hsm.healthy()).toBe(true);
    } finally {
      releaseModule(token.modulePath);
    }
  });

  it('reports healthy while logged in, and closes', async () => {
    const second = await openHsm({ ...token, poolSize: 2 });
    expect(await second.healthy()).toBe(true);
    await second.close();
    expect(await second.healthy()).toBe(false);
    expect((await kmsErrorOf(second.generateRandom(4))).code).toBe('DependencyTimeoutException');
    expect(await hsm.healthy()).toBe(true); // the library stays initialised for the other handle
  });
});

// The token's rate is measured by scripts/bench (raw token/s); this checks what concurrency must not break.
describe('concurrency', () => {
  it('keeps 8 concurrent callers on a pool of 4 apart: each ciphertext decrypts to its own plaintext, no IV repeats', async () => {
    const four = await openHsm({ ...token, poolSize: 4 });
    try {
      const v = randomUUID();
      await four.createRootKey(v);
      const ivs = new Set<string>();
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; i < 50; i += 1) {
          const plaintext = Buffer.from(`worker ${w} message ${i} `.padEnd(100, '.'));
          const { iv, ciphertext } = await four.encrypt(v, plaintext, aadOf);
          ivs.add(Buffer.from(iv).toString('hex'));
          expect(Buffer.from(await four.decrypt(v, iv, ciphertext, aadOf(iv)))).toEqual(plaintext);
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      expect(ivs.size).toBe(8 * 50);
    } finally {
      await four.close();
    }
  });
});
