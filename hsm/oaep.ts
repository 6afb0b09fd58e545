// RSAES-OAEP decoding (RFC 8017 7.1.2) in process, in constant time, for a token that offers OAEP with SHA-1 only:
// the token does the raw RSA private operation (CKM_RSA_X_509), this decodes; every failure is the one error.
import { createHash, timingSafeEqual } from 'node:crypto';
import { invalidCiphertext } from '../core/errors.js';

type Hash = 'sha1' | 'sha256';
const H_LEN: Record<Hash, number> = { sha1: 20, sha256: 32 };

function mgf1(hash: Hash, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let i = 0, pos = 0; pos < length; i++) {
    counter.writeUInt32BE(i);
    const block = createHash(hash).update(seed).update(counter).digest();
    block.copy(out, pos);
    pos += block.length;
  }
  return out;
}

/**
 * Decodes the encoded message EM (k bytes, the raw RSA result) with an empty label. The checks of the leading
 * zero, the label hash and the padding run over every byte whatever they find; only the final result branches.
 */
export function oaepDecode(em: Uint8Array, hash: Hash): Buffer {
  const hLen = H_LEN[hash];
  const k = em.length;
  if (k < 2 * hLen + 2) throw invalidCiphertext();
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = mgf1(hash, maskedDb, hLen);
  for (let i = 0; i < hLen; i++) seed[i] = (seed[i] as number) ^ (maskedSeed[i] as number);
  const db = mgf1(hash, seed, k - hLen - 1);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (maskedDb[i] as number);
  const lHash = createHash(hash).digest();
  let bad = em[0] as number;
  bad |= timingSafeEqual(lHash, db.subarray(0, hLen)) ? 0 : 1;
  let found = 0;
  let index = 0;
  for (let i = hLen; i < db.length; i++) {
    const b = db[i] as number;
    const isOne = ((b ^ 1) - 1) >>> 31;
    const isZero = (b - 1) >>> 31;
    const first = isOne & (found ^ 1);
    index |= -first & i;
    bad |= (found ^ 1) & (isZero ^ 1) & (isOne ^ 1);
    found |= isOne;
  }
  bad |= found ^ 1;
  const message = Buffer.from(db.subarray(index + 1));
  db.fill(0);
  seed.fill(0);
  if (bad !== 0) {
    message.fill(0);
    throw invalidCiphertext();
  }
  return message;
}
