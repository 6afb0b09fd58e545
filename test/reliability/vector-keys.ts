// Token objects made from published test-vector material (C_CreateObject in a throw-away test token), for the vector tests.
import type { DevToken } from '../../hsm/index.js';
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
