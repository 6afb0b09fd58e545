// Start-up known-answer tests inside the token: AES-256-GCM always; ECDSA P-256 and HMAC-SHA256 when the token offers them.
import { createHash, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { aesGcm } from './mechanisms.js';
import { ck, type Handle, type PKCS11 } from './module.js';
import type { Capabilities } from './probe.js';
import type { SessionPool } from './session-pool.js';
import { selfTestAesTemplate, selfTestEcPrivateTemplate, selfTestEcPublicTemplate, selfTestHmacTemplate } from './templates.js';

export type CheckOutcome = 'passed' | 'failed' | 'skipped';

export interface SelfTestResult {
  /** True when no check failed (skipped checks are for mechanisms the token does not offer). */
  passed: boolean;
  checks: { 'aes-gcm': CheckOutcome; ecdsa: CheckOutcome; hmac: CheckOutcome };
}

const hex = (s: string) => Buffer.from(s, 'hex');

// AES-256-GCM: a fixed key, IV, AAD and plaintext; ciphertext||tag computed once with OpenSSL (node:crypto).
const GCM = {
  key: hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'),
  iv: hex('cafebabefacedbaddecaf888'),
  aad: Buffer.from('coffer self-test aad'),
  plaintext: Buffer.from('coffer known-answer test plaintext'),
  expected: hex('e9ccc640cf086f7028642ab3567ce74c7a45b271ab7c19006eaf6810d7e7119ad524b952fa0dc741544fe3c5d303548984cb'),
};

// HMAC-SHA256: RFC 4231 test case 6 (a 131-byte key, longer than tokens' minimum HMAC key sizes).
const HMAC = {
  key: Buffer.alloc(131, 0xaa),
  data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
  expected: hex('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'),
};

// ECDSA P-256: a fixed test key pair and a signature (r||s) of the message made with it by OpenSSL.
const EC = {
  params: hex('06082a8648ce3d030107'),
  d: hex('b0ddc0a5c0f92032f807c57bc10dedd569eda70b34b498ca3db85b69136c848e'),
  x: hex('794064e362f3827aafc5a31a40266756e82c4aeb610e4aae7d47a5b759b0c015'),
  y: hex('ea77206613512d90cdc00a65dc505d791e93c990f87de1becd459c9c65af4dcb'),
  message: Buffer.from('coffer ecdsa known-answer message'),
  signature: hex('3cca99e44ab547002960bf901d98a1f7724e1d580996eb133fca70fff80bc653ef76bbee7c0166257270383c73acc2420e8a378504ca6a2c2cb4e3574691ab74'),
};

/** Records a session object the check created, so it is destroyed afterwards. */
type Track = (h: Handle) => Handle;

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

function gcmKat(lib: PKCS11, s: Handle, track: Track): boolean {
  const key = track(lib.C_CreateObject(s, selfTestAesTemplate(GCM.key)));
  lib.C_EncryptInit(s, aesGcm(GCM.iv, GCM.aad), key);
  const ct = lib.C_Encrypt(s, GCM.plaintext, Buffer.alloc(GCM.plaintext.length + 16));
  lib.C_DecryptInit(s, aesGcm(GCM.iv, GCM.aad), key);
  const pt = lib.C_Decrypt(s, GCM.expected, Buffer.alloc(GCM.expected.length));
  return same(ct, GCM.expected) && same(pt, GCM.plaintext);
}

function hmacKat(lib: PKCS11, s: Handle, track: Track): boolean {
  const key = track(lib.C_CreateObject(s, selfTestHmacTemplate(HMAC.key)));
  lib.C_SignInit(s, { mechanism: ck.CKM_SHA256_HMAC }, key);
  return same(lib.C_Sign(s, HMAC.data, Buffer.alloc(32)), HMAC.expected);
}

/** The token verifies the known signature, and its own signature verifies outside the token (ECDSA is randomised). */
function ecdsaKat(lib: PKCS11, s: Handle, track: Track): boolean {
  const digest = createHash('sha256').update(EC.message).digest();
  const point = Buffer.concat([Buffer.from([0x04, 0x41, 0x04]), EC.x, EC.y]);
  const pub = track(lib.C_CreateObject(s, selfTestEcPublicTemplate(EC.params, point)));
  lib.C_VerifyInit(s, { mechanism: ck.CKM_ECDSA }, pub);
  if (!lib.C_Verify(s, digest, EC.signature)) return false;
  const priv = track(lib.C_CreateObject(s, selfTestEcPrivateTemplate(EC.params, EC.d)));
  lib.C_SignInit(s, { mechanism: ck.CKM_ECDSA }, priv);
  const sig = lib.C_Sign(s, digest, Buffer.alloc(64));
  const jwk = { kty: 'EC', crv: 'P-256', x: EC.x.toString('base64url'), y: EC.y.toString('base64url') };
  return verify('sha256', EC.message, { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, sig);
}

/**
 * Each check on a pooled session; its session objects are destroyed afterwards. A check that threw may have left an
 * operation active, so its session is dropped (not merely released). Keeping sessions open matters: SoftHSM forgets
 * every object handle of the slot when its last session closes.
 */
async function check(lib: PKCS11, pool: SessionPool, offered: boolean, kat: (s: Handle, track: Track) => boolean): Promise<CheckOutcome> {
  if (!offered) return 'skipped';
  const s = await pool.acquire();
  const created: Handle[] = [];
  let threw = false;
  try {
    return kat(s, (h) => (created.push(h), h)) ? 'passed' : 'failed';
  } catch {
    threw = true;
    return 'failed';
  } finally {
    for (const h of created) {
      try {
        lib.C_DestroyObject(s, h);
      } catch {
        threw = true;
      }
    }
    pool.release(s, threw);
  }
}

export async function runSelfTest(lib: PKCS11, pool: SessionPool, capabilities: Capabilities): Promise<SelfTestResult> {
  const has = (name: string) => capabilities.optional[name] === true || capabilities.mechanisms[name] !== undefined;
  const checks = {
    'aes-gcm': await check(lib, pool, true, (s, t) => gcmKat(lib, s, t)),
    ecdsa: await check(lib, pool, has('CKM_ECDSA'), (s, t) => ecdsaKat(lib, s, t)),
    hmac: await check(lib, pool, has('CKM_SHA256_HMAC'), (s, t) => hmacKat(lib, s, t)),
  };
  return { passed: Object.values(checks).every((c) => c !== 'failed'), checks };
}
