// Loads the PKCS#11 library once per process (reference counted), initialises it for threads, finds the token by label.
import pkcs11js from 'pkcs11js';
import type { Handle, PKCS11, Template, TokenInfo } from 'pkcs11js';
import { KmsError } from '../core/errors.js';

export type { Handle, PKCS11 };
export { pkcs11js as ck };

interface Loaded {
  lib: PKCS11;
  refs: number;
  conf: string | undefined;
}

// The library keeps process-wide state: C_Finalize by one user would pull it from under the others.
const loaded = new Map<string, Loaded>();

export interface TokenSlot {
  slot: Handle;
  label: string;
  initialized: boolean;
}

/** The library for `modulePath`, initialised with CKF_OS_LOCKING_OK. Pair with releaseModule. */
export function acquireModule(modulePath: string): PKCS11 {
  const existing = loaded.get(modulePath);
  if (existing) {
    if (existing.conf !== process.env.SOFTHSM2_CONF) {
      throw new KmsError('KMSInternalException', 'The PKCS#11 library is already initialised with another SOFTHSM2_CONF in this process.');
    }
    existing.refs += 1;
    return existing.lib;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(modulePath);
  } catch (e) {
    throw new KmsError('KMSInternalException', `Cannot load the PKCS#11 library ${modulePath}.`, { cause: e });
  }
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      lib.close();
      throw new KmsError('KMSInternalException', `C_Initialize failed for ${modulePath}.`, { cause: e });
    }
  }
  loaded.set(modulePath, { lib, refs: 1, conf: process.env.SOFTHSM2_CONF });
  return lib;
}

/** Drops one reference; the last one finalises and unloads the library. */
export function releaseModule(modulePath: string): void {
  const entry = loaded.get(modulePath);
  if (!entry) return;
  entry.refs -= 1;
  if (entry.refs > 0) return;
  loaded.delete(modulePath);
  try {
    entry.lib.C_Finalize();
  } finally {
    entry.lib.close();
  }
}

/** A token label without the blank or NUL padding PKCS#11 puts after it. */
export function cleanLabel(info: TokenInfo): string {
  return info.label.replace(/[\s\0]+$/u, '');
}

export function listTokens(lib: PKCS11): TokenSlot[] {
  return lib.C_GetSlotList(true).map((slot) => {
    const info = lib.C_GetTokenInfo(slot);
    return { slot, label: cleanLabel(info), initialized: (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0 };
  });
}

/** The slot holding the initialised token labelled `label`; slot ids are not stable, labels are. */
export function findSlot(lib: PKCS11, label: string): Handle {
  const tokens = listTokens(lib);
  const match = tokens.filter((t) => t.initialized && t.label === label);
  if (match.length === 1) return (match[0] as TokenSlot).slot;
  const seen = tokens.filter((t) => t.initialized).map((t) => JSON.stringify(t.label));
  const why = match.length > 1 ? 'Several tokens are labelled' : 'No token is labelled';
  throw new KmsError('KMSInternalException', `${why} ${JSON.stringify(label)}; tokens seen: ${seen.join(', ') || 'none'}.`);
}

/** Up to 16 objects matching a template (callers cache what they find: C_FindObjects slows as the token fills). */
export function findObjects(lib: PKCS11, s: Handle, template: Template): Handle[] {
  lib.C_FindObjectsInit(s, template);
  try {
    return lib.C_FindObjects(s, 16);
  } finally {
    lib.C_FindObjectsFinal(s);
  }
}
