// `tsx scripts/bench/sign-init.ts [N]`: what C_SignInit costs on the calling thread, beside C_Sign, for the keys the
// Sign rows use (RSA_2048 PSS and P-256 ECDSA session pairs, as wrapped keys' use copies are), with CKA_PRIVATE true
// (as Coffer makes them) and false. pkcs11js has no asynchronous C_SignInit, so the server's event loop pays it even
// when C_Sign runs on libuv's pool. A development token in a temporary directory; N signatures per case (2000).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevToken } from '../../hsm/index.js';
import { acquireModule, ck, findSlot, releaseModule, type Handle, type PKCS11 } from '../../hsm/module.js';
import { CURVES } from '../../hsm/der.js';
import { signing } from '../../hsm/asymmetric.js';

const N = Number(process.argv[2] ?? 2000);

interface Case {
  name: string;
  keyPair(lib: PKCS11, s: Handle, privateObject: boolean): Handle;
  mech: Parameters<PKCS11['C_SignInit']>[1];
  outBytes: number;
}

const session = (extra: { type: number; value: unknown }[], privateObject: boolean) => [
  { type: ck.CKA_TOKEN, value: false }, { type: ck.CKA_PRIVATE, value: privateObject }, { type: ck.CKA_SENSITIVE, value: true }, ...extra,
] as Parameters<PKCS11['C_GenerateKeyPair']>[3];

/** The mechanism the adapter itself uses for a 32-byte digest (hsm/asymmetric.ts). */
const mechanismOf = (algorithm: 'RSASSA_PSS_SHA_256' | 'ECDSA_SHA_256') => signing(algorithm, new Uint8Array(32)).mech;

const CASES: Case[] = [
  {
    name: 'RSA_2048 PSS',
    keyPair: (lib, s, p) => lib.C_GenerateKeyPair(s, { mechanism: ck.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: ck.CKA_TOKEN, value: false }, { type: ck.CKA_MODULUS_BITS, value: 2048 }, { type: ck.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }, { type: ck.CKA_VERIFY, value: true }],
      session([{ type: ck.CKA_SIGN, value: true }], p)).privateKey,
    mech: mechanismOf('RSASSA_PSS_SHA_256'),
    outBytes: 256,
  },
  {
    name: 'ECC_NIST_P256 ECDSA',
    keyPair: (lib, s, p) => lib.C_GenerateKeyPair(s, { mechanism: ck.CKM_EC_KEY_PAIR_GEN },
      [{ type: ck.CKA_TOKEN, value: false }, { type: ck.CKA_EC_PARAMS, value: CURVES.ECC_NIST_P256.oid }, { type: ck.CKA_VERIFY, value: true }],
      session([{ type: ck.CKA_SIGN, value: true }], p)).privateKey,
    mech: mechanismOf('ECDSA_SHA_256'),
    outBytes: 64,
  },
];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-sign-init-'));
  try {
    const token = await ensureDevToken({ dataDir: dir, label: 'sign-init' });
    const lib = acquireModule(token.modulePath);
    try {
      const s = lib.C_OpenSession(findSlot(lib, token.tokenLabel), ck.CKF_RW_SESSION | ck.CKF_SERIAL_SESSION);
      lib.C_Login(s, ck.CKU_USER, token.pin);
      const digest = Buffer.alloc(32, 7);
      for (const c of CASES) {
        for (const privateObject of [true, false]) {
          const key = c.keyPair(lib, s, privateObject);
          let init = 0n;
          let sign = 0n;
          for (let i = 0; i < N; i++) {
            const a = process.hrtime.bigint();
            lib.C_SignInit(s, c.mech, key);
            const b = process.hrtime.bigint();
            lib.C_Sign(s, digest, Buffer.alloc(c.outBytes));
            sign += process.hrtime.bigint() - b;
            init += b - a;
          }
          const us = (t: bigint) => (Number(t) / N / 1000).toFixed(1);
          console.log(`${c.name}, CKA_PRIVATE ${privateObject}: C_SignInit ${us(init)} µs, C_Sign ${us(sign)} µs (mean of ${N})`);
        }
      }
      lib.C_CloseSession(s);
    } finally {
      releaseModule(token.modulePath);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
