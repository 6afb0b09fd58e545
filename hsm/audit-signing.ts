// The audit-signing key: an ECDSA P-256 pair inside the token, created once and found by label; signs checkpoint digests.
import { randomBytes } from 'node:crypto';
import { internalError } from '../core/errors.js';
import { ck, findObjects, type Handle, type PKCS11 } from './module.js';
import { auditSigningKeyPairTemplates, findAuditSigningTemplate, publicPointTemplate } from './templates.js';

const SPKI_P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

export interface AuditSigningKey {
  privateKey: Handle;
  /** SubjectPublicKeyInfo, DER. */
  spki: Buffer;
}

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (some tokens give the bare point). */
function uncompressedPoint(ecPoint: Buffer): Buffer {
  if (ecPoint.length === 65 && ecPoint[0] === 0x04) return ecPoint;
  if (ecPoint.length === 67 && ecPoint[0] === 0x04 && ecPoint[1] === 0x41) return ecPoint.subarray(2);
  throw internalError(new Error('unexpected CKA_EC_POINT encoding'));
}

/**
 * Finds the audit-signing key pair or creates it. Two processes on a fresh token may both create one: every
 * process picks the pair whose public point sorts first, so all sign with the same key.
 */
export async function loadAuditSigningKey(lib: PKCS11, s: Handle): Promise<AuditSigningKey> {
  let publics = findObjects(lib, s, findAuditSigningTemplate(ck.CKO_PUBLIC_KEY));
  if (publics.length === 0) {
    const { publicKey, privateKey } = auditSigningKeyPairTemplates(randomBytes(16));
    await lib.C_GenerateKeyPairAsync(s, { mechanism: ck.CKM_EC_KEY_PAIR_GEN }, publicKey, privateKey);
    publics = findObjects(lib, s, findAuditSigningTemplate(ck.CKO_PUBLIC_KEY));
  }
  const candidates = publics.map((h) => {
    const [point, id] = lib.C_GetAttributeValue(s, h, publicPointTemplate());
    return { point: uncompressedPoint(point?.value as Buffer), id: id?.value as Buffer };
  });
  candidates.sort((a, b) => Buffer.compare(a.point, b.point));
  for (const c of candidates) {
    const [privateKey] = findObjects(lib, s, findAuditSigningTemplate(ck.CKO_PRIVATE_KEY, c.id));
    if (privateKey) return { privateKey, spki: Buffer.concat([SPKI_P256_PREFIX, c.point]) };
  }
  throw internalError(new Error('audit-signing private key missing'));
}

/** DER INTEGER of an unsigned big-endian value. */
function derInteger(v: Buffer): Buffer {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i += 1;
  let body = v.subarray(i);
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/** ECDSA raw r||s (what CKM_ECDSA returns) to DER SEQUENCE { r, s }. */
export function rawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const seq = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
}

/** Signs a 32-byte digest with CKM_ECDSA (SoftHSM has no CKM_ECDSA_SHA256); returns DER. */
export async function signDigest(lib: PKCS11, s: Handle, key: Handle, digest: Uint8Array): Promise<Buffer> {
  if (digest.length !== 32) throw internalError(new RangeError('digest must be 32 bytes'));
  lib.C_SignInit(s, { mechanism: ck.CKM_ECDSA }, key);
  const raw = await lib.C_SignAsync(s, Buffer.from(digest), Buffer.alloc(64));
  return rawToDer(raw);
}
