// The versioned ciphertext blob: strict encode and decode; the header bytes are authenticated as AAD.
//
// Format 1, all integers big-endian:
//   0      u8   format version (1)
//   1..16       key id (UUID, 16 raw bytes)
//   17..32      key version id (UUID, 16 raw bytes)
//   33     u8   algorithm (1 = AES-256-GCM)
//   34..45      IV (12 bytes)
//   46..        GCM ciphertext followed by its 16-byte tag
// AAD = header (bytes 0..45) || canonical encryption context.
import { invalidCiphertext } from './errors.js';
import { canonicalizeContext, type EncryptionContext } from './encryption-context.js';

export const FORMAT_VERSION = 1;
export const ALG_AES_256_GCM = 1;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const HEADER_BYTES = 1 + 16 + 16 + 1 + IV_BYTES;
/** Largest blob Decrypt accepts (AWS's CiphertextBlob limit). */
export const MAX_CIPHERTEXT_BYTES = 6144;

export interface CiphertextHeader {
  keyId: string;
  versionId: string;
  iv: Uint8Array;
}

export interface ParsedCiphertext extends CiphertextHeader {
  header: Uint8Array;
  body: Uint8Array;
}

/** A hex digit's value (lower case only, as UUIDs are written here); -1 for anything else. */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** 32 lower-case hex digits, hyphens anywhere ignored; called twice per Encrypt, so one pass without regexes. */
export function uuidToBytes(uuid: string): Uint8Array {
  const out = new Uint8Array(16);
  let n = 0;
  let high = -1;
  for (let i = 0; i < uuid.length; i++) {
    const c = uuid.charCodeAt(i);
    if (c === 45) continue;
    const v = nibble(c);
    if (v < 0 || n === 16) throw new TypeError('not a UUID');
    if (high < 0) high = v;
    else {
      out[n++] = (high << 4) | v;
      high = -1;
    }
  }
  if (n !== 16 || high >= 0) throw new TypeError('not a UUID');
  return out;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

export function bytesToUuid(b: Uint8Array): string {
  let h = '';
  for (let i = 0; i < 16; i++) h += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + (HEX[b[i] as number] as string);
  return h;
}

export function encodeHeader(h: CiphertextHeader): Uint8Array {
  if (h.iv.length !== IV_BYTES) throw new TypeError('IV must be 12 bytes');
  const out = new Uint8Array(HEADER_BYTES);
  out[0] = FORMAT_VERSION;
  out.set(uuidToBytes(h.keyId), 1);
  out.set(uuidToBytes(h.versionId), 17);
  out[33] = ALG_AES_256_GCM;
  out.set(h.iv, 34);
  return out;
}

export function additionalData(header: Uint8Array, context: EncryptionContext | undefined): Uint8Array {
  const ctx = canonicalizeContext(context);
  const out = new Uint8Array(header.length + ctx.length);
  out.set(header, 0);
  out.set(ctx, header.length);
  return out;
}

export function encodeCiphertext(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/** Any malformed blob gives the one InvalidCiphertextException. */
export function decodeCiphertext(blob: Uint8Array): ParsedCiphertext {
  if (blob.length < HEADER_BYTES + TAG_BYTES + 1 || blob.length > MAX_CIPHERTEXT_BYTES) throw invalidCiphertext();
  if (blob[0] !== FORMAT_VERSION || blob[33] !== ALG_AES_256_GCM) throw invalidCiphertext();
  const header = blob.slice(0, HEADER_BYTES);
  return {
    header,
    keyId: bytesToUuid(blob.subarray(1, 17)),
    versionId: bytesToUuid(blob.subarray(17, 33)),
    iv: blob.slice(34, HEADER_BYTES),
    body: blob.slice(HEADER_BYTES),
  };
}
