// The blob of COFFER_KEY_STORE=wrapped (hsm/wrapped-keys.ts): a key version's secret material wrapped with
// CKM_AES_KEY_WRAP_PAD under a domain key, with a check that binds it to its version. KWP binds nothing, and without
// the check a blob copied from one version's row to another's would unwrap and be used as the other's key.
//
// Format 1, AES-256 root keys: 0x01 || domain key id (16) || check (32) || AES-KWP(material) (40). The check is
//   AES-GCM under the material itself over a fixed block, with the version id as AAD.
// Format 2, HMAC keys: 0x02 || spec (1) || domain key id (16) || check (HMAC length) || AES-KWP(material) (its length
//   follows the material's: AWS takes 28 to 128 bytes, by spec). The check is the HMAC (the spec's own mechanism:
//   SoftHSM refuses a key shorter than the hash) of the version id's label.
// Format 3, key pairs (EC and RSA; SoftHSM will not wrap an Ed25519 key): 0x03 || spec (1) || usage (1) || domain key
//   id (16) || public key length (2) || public key (SPKI DER) || check (40) || AES-KWP(PKCS #8 private key). The private
//   key cannot MAC, so the check is keyed by the domain key: AES-KWP under it of SHA-256 over the version id's label and
//   everything else in the blob (KWP is deterministic, so it is recomputed and compared).
import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import { KmsError } from '../core/errors.js';
import { hmacKeyBytes, isRsa, type EccSpec, type HmacSpec, type RsaSpec } from '../core/key-spec.js';
import { CURVES, tlv } from './der.js';
import type { DomainKey, DomainKeyRing } from './domain-key-ring.js';
import { afterCryptFailure, isHandleInvalid, isSessionFatal } from './errors.js';
import { aesGcm, hmacMechanism } from './mechanisms.js';
import { ck, type Handle, type PKCS11 } from './module.js';
import {
  checkValueTemplate, sessionPublicKeyTemplate, unwrappedHmacKeyTemplate, unwrappedPrivateKeyTemplate, unwrappedRootKeyTemplate, type PairUsage,
} from './templates.js';

export const DOMAIN_KEY_ID_BYTES = 16;

export type PairSpec = EccSpec | RsaSpec;
/** What a blob holds: an AES-256 root key, an HMAC key of a spec, or a key pair (with its public key, SPKI DER). */
export type Material = { type: 'aes' } | { type: 'hmac'; spec: HmacSpec } | { type: 'pair'; spec: PairSpec; usage: PairUsage; publicKey: Buffer };
export const AES: Extract<Material, { type: 'aes' }> = { type: 'aes' };

const KWP = { mechanism: ck.CKM_AES_KEY_WRAP_PAD };
const AES_FORMAT = 1;
const HMAC_FORMAT = 2;
const PAIR_FORMAT = 3;
const PAIR_SPECS: readonly PairSpec[] = ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'RSA_2048', 'RSA_3072', 'RSA_4096'];
const PAIR_USAGES: readonly PairUsage[] = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'KEY_AGREEMENT'];
const PAIR_CHECK_BYTES = 40;
/** Room for the longest wrapped PKCS #8 key (RSA_4096, ≈ 2,400 bytes). */
const PAIR_WRAPPED_MAX = 4096;
export const isWrappablePair = (spec: string): spec is PairSpec => (PAIR_SPECS as readonly string[]).includes(spec);
const keyTypeOf = (spec: PairSpec) => (isRsa(spec) ? ck.CKK_RSA : ck.CKK_EC);
const AES_CHECK_BYTES = 32;
const AES_WRAPPED_BYTES = 40;
const HMAC_SPECS: readonly HmacSpec[] = ['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'];
/** KWP pads to 8 bytes and adds 8. */
const kwpBytes = (n: number) => Math.ceil(n / 8) * 8 + 8;
/** Fixed IV and input of the AES check: one fixed message per key, never an IV Encrypt draws (those are random). */
const CHECK_IV = Buffer.from('coffer:check', 'ascii');
const CHECK_INPUT = Buffer.alloc(16);

export const corrupt = (cause?: unknown) =>
  new KmsError('KMSInternalException', 'The wrapped key material of this key version is damaged or does not belong to it.', { cause });

interface Layout {
  material: Exclude<Material, { type: 'pair' }>;
  header: number;
  check: number;
  /** The lengths the wrapped material may have. */
  wrapped: { min: number; max: number };
}

/** The longest HMAC material AWS imports (HMAC_384 and HMAC_512). */
const HMAC_MAX_MATERIAL = 128;

function layoutOf(material: Exclude<Material, { type: 'pair' }>): Layout {
  if (material.type === 'aes') return { material, header: 1, check: AES_CHECK_BYTES, wrapped: { min: AES_WRAPPED_BYTES, max: AES_WRAPPED_BYTES } };
  const bytes = hmacKeyBytes(material.spec);
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
  if (material.type === 'pair') return sealPair(lib, s, dk, key, versionId, material);
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
  if (blob[0] === PAIR_FORMAT) return openPair(lib, s, ring, versionId, blob, extractable);
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

/** A key pair's public key, read from its blob without the token (null when the blob is not a key pair's). */
export function pairOf(blob: Uint8Array): Extract<Material, { type: 'pair' }> | null {
  return parsePair(blob)?.material ?? null;
}

/** The template of a session public key object for a key pair's public key (verification in the token). */
export function publicKeyTemplate(m: Extract<Material, { type: 'pair' }>) {
  const jwk = createPublicKey({ key: m.publicKey, format: 'der', type: 'spki' }).export({ format: 'jwk' });
  const b = (v: string | undefined) => Buffer.from(v ?? '', 'base64url');
  if (isRsa(m.spec)) return sessionPublicKeyTemplate(ck.CKK_RSA, m.usage, [{ type: ck.CKA_MODULUS, value: b(jwk.n) }, { type: ck.CKA_PUBLIC_EXPONENT, value: b(jwk.e) }]);
  const curve = CURVES[m.spec as EccSpec];
  const point = tlv(0x04, Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]));
  return sessionPublicKeyTemplate(ck.CKK_EC, m.usage, [{ type: ck.CKA_EC_PARAMS, value: curve.oid }, { type: ck.CKA_EC_POINT, value: point }]);
}

interface PairLayout {
  material: Extract<Material, { type: 'pair' }>;
  idAt: number;
  /** Everything before the check. */
  prefix: Buffer;
  check: Buffer;
  wrapped: Buffer;
}

function parsePair(blob: Uint8Array): PairLayout | null {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const [format, specAt, usageAt] = [b[0], b[1] ?? 255, b[2] ?? 255];
  const spec = PAIR_SPECS[specAt];
  const usage = PAIR_USAGES[usageAt];
  const idAt = 3;
  const lengthAt = idAt + DOMAIN_KEY_ID_BYTES;
  if (format !== PAIR_FORMAT || spec === undefined || usage === undefined || b.length < lengthAt + 2) return null;
  const spkiEnd = lengthAt + 2 + b.readUInt16BE(lengthAt);
  const checkEnd = spkiEnd + PAIR_CHECK_BYTES;
  const wrapped = b.length - checkEnd;
  if (wrapped < 16 || wrapped % 8 !== 0 || wrapped > PAIR_WRAPPED_MAX) return null;
  const publicKey = Buffer.from(b.subarray(lengthAt + 2, spkiEnd));
  return { material: { type: 'pair', spec, usage, publicKey }, idAt, prefix: b.subarray(0, spkiEnd), check: b.subarray(spkiEnd, checkEnd), wrapped: b.subarray(checkEnd) };
}

function sealPair(lib: PKCS11, s: Handle, dk: DomainKey, key: Handle, versionId: string, m: Extract<Material, { type: 'pair' }>): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(m.publicKey.length);
  const prefix = Buffer.concat([Buffer.from([PAIR_FORMAT, PAIR_SPECS.indexOf(m.spec), PAIR_USAGES.indexOf(m.usage)]), dk.id, length, m.publicKey]);
  const wrapped = lib.C_WrapKey(s, KWP, dk.handle, key, Buffer.alloc(PAIR_WRAPPED_MAX + 16));
  if (wrapped.length > PAIR_WRAPPED_MAX) throw new KmsError('KMSInternalException', 'The HSM wrapped the key material to an unexpected length.');
  return Buffer.concat([prefix, pairCheck(lib, s, dk.handle, versionId, prefix, wrapped), wrapped]);
}

/** A key pair's blob, its check verified: only then may its public key be trusted (a verification key, GetPublicKey). */
export function checkedPair(lib: PKCS11, s: Handle, ring: DomainKeyRing, versionId: string, blob: Uint8Array): Extract<Material, { type: 'pair' }> {
  return checked(lib, s, ring, versionId, blob).p.material;
}

function checked(lib: PKCS11, s: Handle, ring: DomainKeyRing, versionId: string, blob: Uint8Array): { p: PairLayout; dk: Handle } {
  const p = parsePair(blob);
  if (p === null) throw corrupt();
  const dk = ring.unwrapping(s, p.prefix.subarray(p.idAt, p.idAt + DOMAIN_KEY_ID_BYTES));
  if (!timingSafeEqual(pairCheck(lib, s, dk, versionId, p.prefix, p.wrapped), p.check)) throw corrupt();
  return { p, dk };
}

function openPair(lib: PKCS11, s: Handle, ring: DomainKeyRing, versionId: string, blob: Uint8Array, extractable: boolean): { handle: Handle; material: Material } {
  const { p, dk } = checked(lib, s, ring, versionId, blob);
  try {
    return { handle: lib.C_UnwrapKey(s, KWP, dk, p.wrapped, unwrappedPrivateKeyTemplate(keyTypeOf(p.material.spec), p.material.usage, extractable)), material: p.material };
  } catch (e) {
    if (isSessionFatal(e) || isHandleInvalid(e)) throw e;
    throw corrupt(e);
  }
}

/** AES-KWP under the domain key of SHA-256(label || prefix || wrapped): a MAC only the token can compute. */
function pairCheck(lib: PKCS11, s: Handle, dk: Handle, versionId: string, prefix: Buffer, wrapped: Buffer): Buffer {
  const digest = createHash('sha256').update(`coffer:wrapped:${versionId}`).update(prefix).update(wrapped).digest();
  const value = lib.C_CreateObject(s, checkValueTemplate(digest));
  try {
    return lib.C_WrapKey(s, KWP, dk, value, Buffer.alloc(PAIR_CHECK_BYTES + 16));
  } finally {
    destroyQuietly(lib, s, value);
  }
}

function checkOf(lib: PKCS11, s: Handle, key: Handle, versionId: string, material: Material): Buffer {
  const label = Buffer.from(`coffer:wrapped:${versionId}`);
  try {
    if (material.type === 'aes') {
      lib.C_EncryptInit(s, aesGcm(CHECK_IV, label), key);
      return lib.C_Encrypt(s, CHECK_INPUT, Buffer.alloc(AES_CHECK_BYTES));
    }
    if (material.type === 'pair') throw new TypeError('a key pair is checked by pairCheck');
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
