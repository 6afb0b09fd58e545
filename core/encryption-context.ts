// Encryption context: canonical, sorted, length-prefixed serialisation used as AAD, with size limits.
// Never a plain concatenation: {"ab":"c"} and {"a":"bc"} must give different bytes.
import { KmsError } from './errors.js';

export type EncryptionContext = Readonly<Record<string, string>>;

/** Upper bound on the canonical form, so an AAD cannot grow without limit. */
export const MAX_CANONICAL_CONTEXT_BYTES = 8192;

const enc = new TextEncoder();

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * count (u32) then, for each entry sorted by the UTF-8 bytes of its key: key length (u32), key, value length (u32), value.
 * An absent or empty context encodes as count 0.
 */
export function canonicalizeContext(context: EncryptionContext | undefined): Uint8Array {
  const entries = Object.entries(context ?? {}).map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  entries.sort((x, y) => compareBytes(x[0], y[0]));
  const parts: Uint8Array[] = [u32(entries.length)];
  for (const [k, v] of entries) parts.push(u32(k.length), k, u32(v.length), v);
  const total = parts.reduce((s, p) => s + p.length, 0);
  if (total > MAX_CANONICAL_CONTEXT_BYTES) {
    throw new KmsError('ValidationException', `Encryption context exceeds ${MAX_CANONICAL_CONTEXT_BYTES} bytes.`);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Validates the members of an encryption context as AWS does: keys non-empty strings, values strings. */
export function validateContext(context: unknown, member: string): EncryptionContext | undefined {
  if (context === undefined || context === null) return undefined;
  if (typeof context !== 'object' || Array.isArray(context)) {
    throw new KmsError('SerializationException', `${member} must be a map of strings to strings.`);
  }
  for (const [k, v] of Object.entries(context)) {
    if (typeof v !== 'string') throw new KmsError('SerializationException', `${member} must be a map of strings to strings.`);
    if (k.length === 0) throw new KmsError('ValidationException', `${member} keys must not be empty.`);
  }
  return context as EncryptionContext;
}

export function contextKeys(context: EncryptionContext | undefined): string[] {
  return Object.keys(context ?? {}).sort();
}
