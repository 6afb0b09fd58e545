// Token objects made from published test-vector material (C_CreateObject in a throw-away test token), for the vector tests.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ensureDevToken, openHsm, type DevToken, type Pkcs11Hsm } from '../../hsm/index.js';
import { ROOT } from '../helpers/server.js';
import { acquireModule, ck, findSlot, releaseModule } from '../../hsm/module.js';

export type Attribute = { type: number; value?: unknown };

/** Creates one token object; the adapter's logged-in pool has logged the application in (login is per application). */
export function createObject(token: DevToken, template: Attribute[]): void {
  const lib = acquireModule(token.modulePath);
  try {
    const s = lib.C_OpenSession(findSlot(lib, token.tokenLabel), ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
    try {
      lib.C_CreateObject(s, template as Parameters<typeof lib.C_CreateObject>[1]);
    } finally {
      lib.C_CloseSession(s);
    }
  } finally {
    releaseModule(token.modulePath);
  }
}

/** A vector's big integer as PKCS#11 wants it: unsigned big-endian without the sign byte. */
export function bigInt(hexValue: string): Buffer {
  const b = Buffer.from(hexValue, 'hex');
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

export const hex = (h: string): Buffer => Buffer.from(h, 'hex');

/** A committed vector file from test/vectors/wycheproof. */
export function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'vectors', 'wycheproof', name), 'utf8')) as T;
}

/**
 * A throw-away development token and an adapter over it for one test file: made in beforeAll, closed and deleted
 * in afterAll after `onDone` (which saves the file's recorders). Read the fields inside tests.
 */
export function vectorToken(prefix: string, onDone: () => void): { readonly token: DevToken; readonly hsm: Pkcs11Hsm } {
  const state: { dataDir?: string; token?: DevToken; hsm?: Pkcs11Hsm } = {};
  beforeAll(async () => {
    state.dataDir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    state.token = await ensureDevToken({ dataDir: state.dataDir, label: `${prefix}-${randomUUID().slice(0, 8)}` });
    state.hsm = await openHsm({ ...state.token, poolSize: 2 });
  });
  afterAll(async () => {
    onDone();
    await state.hsm?.close();
    if (state.dataDir) rmSync(state.dataDir, { recursive: true, force: true });
  });
  return {
    get token() {
      return state.token as DevToken;
    },
    get hsm() {
      return state.hsm as Pkcs11Hsm;
    },
  };
}
