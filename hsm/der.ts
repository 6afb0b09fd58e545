// Minimal DER: ECDSA signatures (raw r||s from the token <-> DER as AWS returns), EC SubjectPublicKeyInfo, curve OIDs.
import type { EccSpec } from '../core/key-spec.js';

export interface Curve {
  /** DER of the named-curve OID (CKA_EC_PARAMS). */
  oid: Buffer;
  /** Bytes of a field element: the length of r, s, x, y and of the ECDH shared secret. */
  size: number;
  /** node:crypto's name. */
  nodeName: string;
}

export const CURVES: Record<EccSpec, Curve> = {
  ECC_NIST_P256: { oid: Buffer.from('06082a8648ce3d030107', 'hex'), size: 32, nodeName: 'prime256v1' },
  ECC_NIST_P384: { oid: Buffer.from('06052b81040022', 'hex'), size: 48, nodeName: 'secp384r1' },
  ECC_NIST_P521: { oid: Buffer.from('06052b81040023', 'hex'), size: 66, nodeName: 'secp521r1' },
  ECC_SECG_P256K1: { oid: Buffer.from('06052b8104000a', 'hex'), size: 32, nodeName: 'secp256k1' },
};

const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

/** Reads one TLV at `offset`; returns null on anything malformed or non-minimal. */
export function readTlv(buf: Uint8Array, offset: number): { tag: number; body: Uint8Array; end: number } | null {
  if (offset + 2 > buf.length) return null;
  const tag = buf[offset] as number;
  let len = buf[offset + 1] as number;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || pos + n > buf.length || buf[pos] === 0) return null; // a leading zero byte is not minimal
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[pos + i] as number);
    if (len < 0x80) return null;
    pos += n;
  }
  if (pos + len > buf.length) return null;
  return { tag, body: buf.subarray(pos, pos + len), end: pos + len };
}

function derInteger(unsigned: Uint8Array): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const v = unsigned.subarray(i);
  return tlv(0x02, (v[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/** r||s (each `size` bytes) to the DER SEQUENCE { INTEGER r, INTEGER s }. */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  const half = raw.length / 2;
  return tlv(0x30, Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]));
}

/** DER ECDSA signature to r||s of `size` bytes each; null when it is not strictly a SEQUENCE of two INTEGERs that fit. */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Buffer | null {
  const seq = readTlv(der, 0);
  if (!seq || seq.tag !== 0x30 || seq.end !== der.length) return null;
  const r = readTlv(seq.body, 0);
  const s = r ? readTlv(seq.body, r.end) : null;
  if (!r || !s || r.tag !== 0x02 || s.tag !== 0x02 || s.end !== seq.body.length) return null;
  const out = Buffer.alloc(size * 2);
  for (const [i, int] of [r.body, s.body].entries()) {
    let v = int;
    if (v.length === 0 || ((v[0] as number) & 0x80) !== 0) return null; // negative
    if (v.length > 1 && v[0] === 0 && ((v[1] as number) & 0x80) === 0) return null; // a zero byte DER would not write
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) return null;
    out.set(v, i * size + size - v.length);
  }
  return out;
}

/** SubjectPublicKeyInfo of an EC key from CKA_EC_PARAMS (the curve OID) and the uncompressed point. */
export function ecSpki(curveOid: Uint8Array, point: Uint8Array): Buffer {
  const algorithm = tlv(0x30, Buffer.concat([EC_PUBLIC_KEY_OID, curveOid]));
  return tlv(0x30, Buffer.concat([algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), point]))]));
}

/** CKA_EC_POINT is an OCTET STRING holding the point in SoftHSM (PKCS#11 2.40); accept a bare point too. */
export function unwrapEcPoint(value: Uint8Array): Uint8Array {
  if (value[0] === 0x04 && value.length % 2 === 1) {
    const t = readTlv(value, 0);
    if (t && t.end === value.length && t.body[0] === 0x04) return t.body;
    return value;
  }
  const t = readTlv(value, 0);
  return t && t.tag === 0x04 && t.end === value.length ? t.body : value;
}

/** SubjectPublicKeyInfo of an Ed25519 public key (RFC 8410). */
export function ed25519Spki(publicKey: Uint8Array): Buffer {
  return tlv(0x30, Buffer.concat([tlv(0x30, Buffer.from('06032b6570', 'hex')), tlv(0x03, Buffer.concat([Buffer.from([0]), publicKey]))]));
}
