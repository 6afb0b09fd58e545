// The raw token rate: an in-process loop over the same PKCS#11 module (SoftHSM), N concurrent callers sharing a
// session pool sized as the server's, doing what each KMS operation asks of the token; sync vs async calls.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AsymmetricSpec, SigningAlgorithm } from '../../core/key-spec.js';
import { signatureBytes, signing } from '../../hsm/asymmetric.js';
import { ensureDevToken, openHsm, type Pkcs11Hsm } from '../../hsm/index.js';
import { IvPool } from '../../hsm/iv-pool.js';
import { aesGcm } from '../../hsm/mechanisms.js';
import { acquireModule, releaseModule, type Handle, type PKCS11 } from '../../hsm/module.js';
import type { Template } from 'pkcs11js';
import { findRootKeyTemplate, findVersionObjectTemplate } from '../../hsm/templates.js';

export type RawOp = 'encrypt' | 'decrypt' | 'generateDataKey' | 'random32' | SignOp;
export type SignOp = 'signEcc' | 'signRsa2048' | 'signRsa4096';
/** The key and algorithm of each raw sign loop: the same as the bench's Sign phases (scripts/bench/run.ts). */
export const SIGN_OPS: Record<SignOp, { spec: AsymmetricSpec; algorithm: SigningAlgorithm }> = {
  signEcc: { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
  signRsa2048: { spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256' },
  signRsa4096: { spec: 'RSA_4096', algorithm: 'RSASSA_PSS_SHA_256' },
};
const ALL_OPS: RawOp[] = ['encrypt', 'decrypt', 'generateDataKey', 'random32', 'signEcc', 'signRsa2048', 'signRsa4096'];
/**
 * Which call modes each loop runs: random has no async call in pkcs11js; RSA signing only async, so libuv's thread
 * pool uses every core (a sync RSA_4096 signature would also hold the loop's timers for seconds across 64 callers).
 */
const modesOf = (op: RawOp): ('sync' | 'async')[] => (op === 'random32' ? ['sync'] : op.startsWith('signRsa') ? ['async'] : ['sync', 'async']);
export interface RawRate {
  op: RawOp;
  mode: 'sync' | 'async';
  rps: number;
}

const TAG = 16;

/** One token round of each KMS operation, as the server's Hsm adapter does it (IV from the token RNG). */
function steps(lib: PKCS11, key: Handle, plaintext: Buffer, aad: Buffer, sealed: { iv: Buffer; body: Buffer }) {
  // IVs drawn as the adapter draws them (hsm/iv-pool.ts).
  const ivs = new IvPool(lib);
  const enc = async (s: Handle, data: Buffer, sync: boolean) => {
    const iv = ivs.next(s);
    lib.C_EncryptInit(s, aesGcm(iv, aad), key);
    const out = Buffer.alloc(data.length + TAG);
    return sync ? lib.C_Encrypt(s, data, out) : lib.C_EncryptAsync(s, data, out);
  };
  return {
    encrypt: (s: Handle, sync: boolean) => enc(s, plaintext, sync),
    decrypt: async (s: Handle, sync: boolean) => {
      lib.C_DecryptInit(s, aesGcm(sealed.iv, aad), key);
      const out = Buffer.alloc(sealed.body.length);
      return sync ? lib.C_Decrypt(s, sealed.body, out) : lib.C_DecryptAsync(s, sealed.body, out);
    },
    generateDataKey: async (s: Handle, sync: boolean) => enc(s, lib.C_GenerateRandom(s, Buffer.alloc(32)), sync),
    random32: async (s: Handle) => lib.C_GenerateRandom(s, Buffer.alloc(32)),
  } satisfies Record<Exclude<RawOp, SignOp>, (s: Handle, sync: boolean) => Promise<Buffer>>;
}

/** C_SignInit + C_Sign of a SHA-256 digest, with the mechanism the server's Hsm adapter uses (raw r||s for ECDSA). */
function signStep(lib: PKCS11, key: Handle, op: SignOp) {
  const { spec, algorithm } = SIGN_OPS[op];
  const { mech, input } = signing(algorithm, createHash('sha256').update(randomBytes(32)).digest());
  return async (s: Handle, sync: boolean): Promise<Buffer> => {
    lib.C_SignInit(s, mech, key);
    const out = Buffer.alloc(signatureBytes(spec));
    return sync ? lib.C_Sign(s, input, out) : lib.C_SignAsync(s, input, out);
  };
}

export interface RawOptions {
  callers: number;
  ms: number;
  poolSize?: number;
  /** The loops to run; all when absent. */
  ops?: RawOp[];
}

/** Measures each operation (`opts.ops`, else all) in its modes (`modesOf`). */
export async function rawTokenRates(opts: RawOptions): Promise<{ rates: RawRate[]; poolSize: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-loadbench-raw-'));
  const token = await ensureDevToken({ dataDir, label: 'bench-raw' });
  const hsm = await openHsm({ ...token, ...(opts.poolSize ? { poolSize: opts.poolSize } : {}) });
  const lib = acquireModule(token.modulePath);
  try {
    const versionId = randomUUID();
    await hsm.createRootKey(versionId);
    const pool = hsm.pool;
    const key = await findOne(hsm, lib, findRootKeyTemplate(versionId));
    const plaintext = randomBytes(32);
    const aad = randomBytes(48);
    const sealed = await pool.withSession(async (s) => {
      const iv = lib.C_GenerateRandom(s, Buffer.alloc(12));
      lib.C_EncryptInit(s, aesGcm(iv, aad), key);
      return { iv, body: lib.C_Encrypt(s, plaintext, Buffer.alloc(plaintext.length + TAG)) };
    });
    const ops = steps(lib, key, plaintext, aad, sealed);
    const rates: RawRate[] = [];
    for (const op of opts.ops ?? ALL_OPS) {
      const fn = op in SIGN_OPS ? signStep(lib, await signingKey(hsm, lib, op as SignOp), op as SignOp) : ops[op as Exclude<RawOp, SignOp>];
      for (const mode of modesOf(op)) {
        const rps = await loop(opts, (done) => pool.withSession((s) => fn(s, mode === 'sync')).then(done));
        rates.push({ op, mode, rps });
      }
    }
    return { rates, poolSize: pool.size };
  } finally {
    releaseModule(token.modulePath);
    await hsm.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A fresh key pair in the token for `op`, made as CreateKey makes it; its private key's handle. */
async function signingKey(hsm: Pkcs11Hsm, lib: PKCS11, op: SignOp): Promise<Handle> {
  const versionId = randomUUID();
  await hsm.createKeyPair(versionId, SIGN_OPS[op].spec, 'SIGN_VERIFY');
  return findOne(hsm, lib, findVersionObjectTemplate(versionId, 'private'));
}

function findOne(hsm: Pkcs11Hsm, lib: PKCS11, template: Template): Promise<Handle> {
  return hsm.pool.withSession(async (s) => {
    lib.C_FindObjectsInit(s, template);
    const [h] = lib.C_FindObjects(s, 1);
    lib.C_FindObjectsFinal(s);
    return h as Handle;
  });
}

/** `callers` loops calling `once` for `ms` (after a quarter of that as warm-up); completions per second. */
async function loop(opts: RawOptions, once: (done: () => void) => Promise<void>): Promise<number> {
  let count = 0;
  let stop = false;
  const warmupMs = Math.round(opts.ms / 4);
  let counting = false;
  const done = () => {
    if (counting) count += 1;
  };
  const run = async () => {
    // Sync token calls resolve in microtasks only: yield now and then, or the timers below never fire.
    for (let i = 1; !stop; i++) {
      await once(done);
      if (i % 16 === 0) await new Promise(setImmediate);
    }
  };
  const runners = Array.from({ length: opts.callers }, run);
  await new Promise((r) => setTimeout(r, warmupMs));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, opts.ms));
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(runners);
  return Math.round(count / seconds);
}
