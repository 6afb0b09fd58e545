// The blob of COFFER_KEY_STORE=wrapped (hsm/wrapped-keys.ts): a key version's secret material wrapped with
// CKM_AES_KEY_WRAP_PAD under a domain key, with a check that binds it to its version. KWP binds nothing, and without
// the check a blob copied from one version's row to another's would unwrap and be used as the other's key.
//
// Format 1, AES-256 root keys: 0x01 || domain key id (16) || check (32) || AES-KWP(material) (40). The check is
//   AES-GCM under the material itself over a fixed block, with the version id as AAD.
// Format 2, HMAC keys: 0x02 || spec (1) || domain key id (16) || check (HMAC length) || AES-KWP(material) (its length
//   follows the material's: AWS takes 28 to 128 bytes, by spec). The check is the HMAC (the spec's own mechanism:
//   SoftHSM refuses a key shorter than the hash) of the version id's label.
import { timingSafeEqual } from 'node:crypto';
import { KmsError } from '../core/errors.js';
import type { HmacSpec } from '../core/key-spec.js';
import type { DomainKey, DomainKeyRing } from './domain-key-ring.js';
import { afterCryptFailure, isHandleInvalid, isSessionFatal } from './errors.js';
import { aesGcm, hmacMechanism } from './mechanisms.js';
import { ck, type Handle, type PKCS11 } from './module.js';
import { unwrappedHmacKeyTemplate, unwrappedRootKeyTemplate } from './templates.js';

export const DOMAIN_KEY_ID_BYTES = 16;

/** What a blob holds: an AES-256 root key, or an HMAC key of a spec. */
export type Material = { type: 'aes' } | { type: 'hmac'; spec: HmacSpec };
export const AES: Material = { type: 'aes' };

const KWP = { mechanism: ck.CKM_AES_KEY_WRAP_PAD };
const AES_FORMAT = 1;
const HMAC_FORMAT = 2;
const AES_CHECK_BYTES = 32;
const AES_WRAPPED_BYTES = 40;
const HMAC_SPECS: readonly HmacSpec[] = ['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'];
const hmacBytes = (spec: HmacSpec) => Number(spec.slice(5)) / 8;
/** KWP pads to 8 bytes and adds 8. */
const kwpBytes = (n: number) => Math.ceil(n / 8) * 8 + 8;
/** Fixed IV and input of the AES check: one fixed message per key, never an IV Encrypt draws (those are random). */
const CHECK_IV = Buffer.from('coffer:check', 'ascii');
const CHECK_INPUT = Buffer.alloc(16);

export const corrupt = (cause?: unknown) =>
  new KmsError('KMSInternalException', 'The wrapped key material of this key version is damaged or does not belong to it.', { cause });

interface Layout {
  material: Material;
  header: number;
  check: number;
  /** The lengths the wrapped material may have. */
  wrapped: { min: number; max: number };
}

/** The longest HMAC material AWS imports (HMAC_384 and HMAC_512). */
const HMAC_MAX_MATERIAL = 128;

function layoutOf(material: Material): Layout {
  if (material.type === 'aes') return { material, header: 1, check: AES_CHECK_BYTES, wrapped: { min: AES_WRAPPED_BYTES, max: AES_WRAPPED_BYTES } };
  const bytes = hmacBytes(material.spec);
  return { material, header: 2, check: bytes, wrapped: { min: kwpBytes(bytes), max: kwpBytes(HMAC_MAX_MATERIAL) } };
}

const fits = (layout: Layout, wrapped: number) => wrapped % 8 === 0 && wrapped >= layout.wrapped.min && wrapped <= layout.wrapped.max;

/** The layout a blob declares, or null when its header is unknown or its length does not fit it. */
function parse(blob: Uint8Array): Layout | null {
  let layout: Layout | null = null;
  if (blob[0] === AES_FORMAT) layout = layoutOf(AES);
  else if (blob[0] === HMAC_FORMAT && blob[1] !== undefined && blob[1] < HMAC_SPECS.length) layout = layoutOf({ type: 'hmac', spec: HMAC_SPECS[blob[1]] as HmacSpec });
  if (layout === null || !fits(layout, blob.length - layout.header - DOMAIN_KEY_ID_BYTES - layout.check)) return null;
  return layout;
}

/** Wraps `key` (extractable) under the domain key, with its check. */
export function seal(lib: PKCS11, s: Handle, dk: DomainKey, key: Handle, versionId: string, material: Material): Buffer {
  const layout = layoutOf(material);
  const check = checkOf(lib, s, key, versionId, material);
  // Always big enough: a CKR_BUFFER_TOO_SMALL would leave the session's operation active.
  const wrapped = lib.C_WrapKey(s, KWP, dk.handle, key, Buffer.alloc(layout.wrapped.max + 16));
  if (!fits(layout, wrapped.length)) throw new KmsError('KMSInternalException', 'The HSM wrapped the key material to an unexpected length.');
  const header = material.type === 'aes' ? [AES_FORMAT] : [HMAC_FORMAT, HMAC_SPECS.indexOf(material.spec)];
  return Buffer.concat([Buffer.from(header), dk.id, check, wrapped]);
}

/**
 * Unwraps a blob into a session object (sensitive; extractable only when `extractable`, for a rewrap) and verifies
 * its check; throws `corrupt` when either fails. Session trouble is thrown as it is (the caller retries).
 */
export function open(lib: PKCS11, s: Handle, ring: DomainKeyRing, versionId: string, blob: Uint8Array, extractable = false): { handle: Handle; material: Material } {
  const layout = parse(blob);
  if (layout === null) throw corrupt();
  const b = Buffer.from(blob);
  const idAt = layout.header;
  const checkAt = idAt + DOMAIN_KEY_ID_BYTES;
  const dk = ring.unwrapping(s, b.subarray(idAt, checkAt));
  const template = layout.material.type === 'aes' ? unwrappedRootKeyTemplate(extractable) : unwrappedHmacKeyTemplate(extractable);
  let h: Handle;
  try {
    h = lib.C_UnwrapKey(s, KWP, dk, b.subarray(checkAt + layout.check), template);
  } catch (e) {
    // SoftHSM answers a damaged KWP blob with CKR_GENERAL_ERROR (measured).
    if (isSessionFatal(e) || isHandleInvalid(e)) throw e;
    throw corrupt(e);
  }
  let ok = false;
  try {
    ok = timingSafeEqual(checkOf(lib, s, h, versionId, layout.material), b.subarray(checkAt, checkAt + layout.check));
  } finally {
    if (!ok) destroyQuietly(lib, s, h);
  }
  if (!ok) throw corrupt();
  return { handle: h, material: layout.material };
}

function checkOf(lib: PKCS11, s: Handle, key: Handle, versionId: string, material: Material): Buffer {
  const label = Buffer.from(`coffer:wrapped:${versionId}`);
  try {
    if (material.type === 'aes') {
      lib.C_EncryptInit(s, aesGcm(CHECK_IV, label), key);
      return lib.C_Encrypt(s, CHECK_INPUT, Buffer.alloc(AES_CHECK_BYTES));
    }
    lib.C_SignInit(s, hmacMechanism(material.spec), key);
    return lib.C_Sign(s, label, Buffer.alloc(64));
  } catch (e) {
    throw afterCryptFailure(e);
  }
}

function destroyQuietly(lib: PKCS11, s: Handle, h: Handle): void {
  try {
    lib.C_DestroyObject(s, h);
  } catch {
    // gone with its session
  }
}
