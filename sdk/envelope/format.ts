// The envelope message format, version 1 (see FORMAT.md): header and frame encoding, key derivation, IVs and AAD.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

export const MAGIC = Buffer.from('CFEV', 'ascii');
export const VERSION = 1;
/** Suite 1: AES-256-GCM, message key = HKDF-SHA256(data key, salt = message id), 12-byte IVs, 16-byte tags. */
export const SUITE = 1;
export const MESSAGE_ID_BYTES = 32;
export const TAG_BYTES = 16;
export const FRAME_HEAD_BYTES = 9;
export const DEFAULT_FRAME_SIZE = 64 * 1024;
export const MAX_FRAME_SIZE = 16 * 1024 * 1024;
export const FRAME_REGULAR = 0;
export const FRAME_FINAL = 1;
const MAX_FRAMES = 0xffffffff;

/** Any failure to parse or authenticate an envelope message; deliberately says nothing about the plaintext. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

export type EncryptionContext = Record<string, string>;

export interface Header {
  messageId: Buffer;
  frameSize: number;
  keyArn: string;
  encryptionContext: EncryptionContext;
  encryptedDataKey: Buffer;
}

const u16 = (n: number) => {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n);
  return b;
};
const lp16 = (b: Buffer, what: string) => {
  if (b.length > 0xffff) throw new EnvelopeError(`${what} is longer than 65535 bytes`);
  return Buffer.concat([u16(b.length), b]);
};

/** Sorted by key bytes, each key and value length-prefixed: the same context always gives the same bytes. */
export function canonicalContext(ctx: EncryptionContext): Buffer {
  const pairs = Object.entries(ctx).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
  return Buffer.concat([u16(pairs.length), ...pairs.flatMap(([k, v]) => [lp16(k, 'a context key'), lp16(v, 'a context value')])]);
}

export function parseContext(b: Buffer): EncryptionContext {
  const out: EncryptionContext = {};
  if (b.length === 0) throw new EnvelopeError('Malformed encryption context');
  const count = b.readUInt16BE(0);
  let o = 2;
  const next = () => {
    if (o + 2 > b.length) throw new EnvelopeError('Malformed encryption context');
    const n = b.readUInt16BE(o);
    if (o + 2 + n > b.length) throw new EnvelopeError('Malformed encryption context');
    const s = b.subarray(o + 2, o + 2 + n).toString('utf8');
    o += 2 + n;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const k = next();
    out[k] = next();
  }
  if (o !== b.length) throw new EnvelopeError('Malformed encryption context');
  return out;
}

/** The header's bytes before its tag: everything the header tag and every frame's AAD authenticate. */
export function headerBody(h: Header): Buffer {
  if (h.messageId.length !== MESSAGE_ID_BYTES) throw new EnvelopeError('The message id must be 32 bytes');
  const fs = Buffer.allocUnsafe(4);
  fs.writeUInt32BE(h.frameSize);
  return Buffer.concat([
    MAGIC, Buffer.from([VERSION, SUITE]), h.messageId, fs,
    lp16(Buffer.from(h.keyArn, 'utf8'), 'The key ARN'), lp16(canonicalContext(h.encryptionContext), 'The encryption context'),
    lp16(h.encryptedDataKey, 'The encrypted data key'),
  ]);
}

export function newMessageId(): Buffer {
  return randomBytes(MESSAGE_ID_BYTES);
}

/** The per-message key: HKDF-SHA256 over the data key with the message id as salt, so IVs never repeat under a key. */
export function messageKey(dataKey: Uint8Array, messageId: Buffer): Buffer {
  if (dataKey.length !== 32) throw new EnvelopeError('The data key must be 32 bytes (AES_256)');
  return Buffer.from(hkdfSync('sha256', dataKey, messageId, Buffer.from(`coffer-envelope/v${VERSION}/${SUITE}`), 32));
}

/** IV of frame n (n = 0 is the header): four zero bytes, then n as a big-endian 64-bit integer. */
export function frameIv(n: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(n), 4);
  return iv;
}

export function frameHead(type: number, seq: number, length: number): Buffer {
  if (seq > MAX_FRAMES) throw new EnvelopeError('Too many frames for one message');
  const b = Buffer.allocUnsafe(FRAME_HEAD_BYTES);
  b.writeUInt8(type, 0);
  b.writeUInt32BE(seq, 1);
  b.writeUInt32BE(length, 5);
  return b;
}

/** AAD of a frame: SHA-256 of the whole header (with its tag), then the frame's head (type, number, length). */
export const frameAad = (headerHash: Buffer, head: Buffer): Buffer => Buffer.concat([headerHash, head]);

export function headerTag(key: Buffer, body: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, frameIv(0), { authTagLength: TAG_BYTES });
  c.setAAD(body);
  c.final();
  return c.getAuthTag();
}

export function sealFrame(key: Buffer, headerHash: Buffer, type: number, seq: number, plaintext: Uint8Array): Buffer {
  const head = frameHead(type, seq, plaintext.length);
  const c = createCipheriv('aes-256-gcm', key, frameIv(seq), { authTagLength: TAG_BYTES });
  c.setAAD(frameAad(headerHash, head));
  const ct = c.update(plaintext);
  c.final();
  return Buffer.concat([head, ct, c.getAuthTag()]);
}

export function openFrame(key: Buffer, headerHash: Buffer, head: Buffer, seq: number, body: Buffer): Buffer {
  const length = body.length - TAG_BYTES;
  const d = createDecipheriv('aes-256-gcm', key, frameIv(seq), { authTagLength: TAG_BYTES });
  d.setAAD(frameAad(headerHash, head));
  d.setAuthTag(body.subarray(length));
  const pt = d.update(body.subarray(0, length));
  try {
    d.final();
  } catch {
    pt.fill(0);
    throw new EnvelopeError(`Frame ${seq} failed authentication`);
  }
  return pt;
}

export const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
