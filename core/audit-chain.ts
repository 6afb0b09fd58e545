// The audit hash chain: a canonical JSON form, each event's hash over its predecessor's, and the signed checkpoint message.
// sdk/audit/verify.ts re-implements this independently; test/unit/audit-chain.test.ts keeps the two in agreement.
import { createHash } from 'node:crypto';

/** The hash before the first event of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Deterministic JSON: object keys sorted by UTF-16 code units, no whitespace, undefined members omitted. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no non-finite numbers');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i] === undefined ? null : value[i]);
    return out + ']';
  }
  if (typeof value === 'object') {
    // One pass over the sorted keys, no intermediate arrays: every audit event is canonicalised on the request path.
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    let out = '{';
    for (const k of keys) {
      const member = record[k];
      if (member === undefined) continue;
      out += (out.length > 1 ? ',' : '') + JSON.stringify(k) + ':' + canonicalJson(member);
    }
    return out + '}';
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** hash(n) = SHA-256("coffer-audit-v1\n" || n || "\n" || hash(n-1) || "\n" || canonical(record n)), hex. */
export function chainHash(seq: number, prevHash: string, recordCanonical: string): string {
  return sha256Hex(`coffer-audit-v1\n${seq}\n${prevHash}\n${recordCanonical}`);
}

/** The bytes a checkpoint signature covers (ECDSA P-256 over their SHA-256). */
export function checkpointMessage(chainSeq: number, hash: string, time: Date): Uint8Array {
  return new TextEncoder().encode(`coffer-audit-checkpoint-v1\n${chainSeq}\n${hash}\n${time.toISOString()}`);
}

export function checkpointDigest(chainSeq: number, hash: string, time: Date): Uint8Array {
  return new Uint8Array(createHash('sha256').update(checkpointMessage(chainSeq, hash, time)).digest());
}

/** One link of the chain as stored. */
export interface ChainedEvent {
  chainSeq: number;
  prevHash: string;
  hash: string;
  /** The record's canonical JSON. */
  record: string;
}

export interface Checkpoint {
  chainSeq: number;
  hash: string;
  time: Date;
  /** ECDSA signature, DER, base64. */
  signature: string;
  /** The signing key's SubjectPublicKeyInfo, DER, base64. */
  publicKey: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
  /** The last event removed by retention (0 and GENESIS_HASH when none): the chain continues from here. */
  baseSeq: number;
  baseHash: string;
}
