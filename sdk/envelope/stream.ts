// Framed envelope encryption and decryption over async iterables, at constant memory (one frame at a time).
import { Duplex } from 'node:stream';
import {
  DEFAULT_FRAME_SIZE, EnvelopeError, FRAME_FINAL, FRAME_HEAD_BYTES, FRAME_REGULAR, MAGIC, MAX_FRAME_SIZE, MESSAGE_ID_BYTES,
  SUITE, TAG_BYTES, VERSION, headerBody, headerTag, messageKey, newMessageId, openFrame, parseContext, sealFrame, sha256,
  type EncryptionContext, type Header,
} from './format.js';
import type { MaterialsProvider } from './materials.js';

export interface EncryptOptions {
  keyId: string;
  encryptionContext?: EncryptionContext;
  /** Plaintext bytes per frame; default 64 KiB, at most 16 MiB. */
  frameSize?: number;
  plaintextLength?: number;
  /** Only for test vectors: a fixed message id instead of 32 random bytes. */
  messageId?: Uint8Array;
}

export interface DecryptOptions {
  /** Pairs that must be present, with these values, in the message's encryption context. */
  encryptionContext?: EncryptionContext;
  /** Frame sizes above this are refused before any allocation; default 16 MiB. */
  maxFrameSize?: number;
}

export interface DecryptedHeader {
  keyArn: string;
  encryptionContext: EncryptionContext;
  frameSize: number;
}

const asBuffer = (u: Uint8Array | string): Buffer => (typeof u === 'string' ? Buffer.from(u) : Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/** Encrypts a byte source into an envelope message: the header first, then frames of frameSize, the last one final. */
export async function* encryptIterable(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, materials: MaterialsProvider, opts: EncryptOptions): AsyncGenerator<Buffer> {
  const frameSize = opts.frameSize ?? DEFAULT_FRAME_SIZE;
  if (!Number.isInteger(frameSize) || frameSize < 1 || frameSize > MAX_FRAME_SIZE) throw new RangeError(`frameSize must be an integer in 1..${MAX_FRAME_SIZE}`);
  const encryptionContext = opts.encryptionContext ?? {};
  const m = await materials.getEncryptionMaterials({ keyId: opts.keyId, encryptionContext, plaintextLength: opts.plaintextLength });
  const header: Header = {
    messageId: opts.messageId ? Buffer.from(opts.messageId) : newMessageId(),
    frameSize, keyArn: m.keyArn, encryptionContext, encryptedDataKey: Buffer.from(m.encryptedDataKey),
  };
  let key: Buffer;
  try {
    key = messageKey(m.dataKey, header.messageId);
  } finally {
    m.dataKey.fill(0);
  }
  try {
    const body = headerBody(header);
    const full = Buffer.concat([body, headerTag(key, body)]);
    const hash = sha256(full);
    yield full;
    const frame = Buffer.allocUnsafe(frameSize);
    let fill = 0;
    let seq = 1;
    for await (const input of source) {
      const chunk = asBuffer(input);
      for (let off = 0; off < chunk.length; ) {
        if (fill === frameSize) {
          yield sealFrame(key, hash, FRAME_REGULAR, seq++, frame);
          fill = 0;
        }
        if (fill === 0 && chunk.length - off > frameSize) {
          // A whole frame with more input after it cannot be the final one: seal it in place, without copying.
          yield sealFrame(key, hash, FRAME_REGULAR, seq++, chunk.subarray(off, off + frameSize));
          off += frameSize;
          continue;
        }
        const n = chunk.copy(frame, fill, off, Math.min(chunk.length, off + frameSize - fill));
        fill += n;
        off += n;
      }
    }
    yield sealFrame(key, hash, FRAME_FINAL, seq, frame.subarray(0, fill));
    frame.fill(0);
  } finally {
    key.fill(0);
  }
}

/** Reads exact byte counts from an async byte source without copying when one chunk suffices. */
class ByteReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }
  async fill(n: number): Promise<boolean> {
    while (this.have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length) {
        this.chunks.push(asBuffer(r.value));
        this.have += r.value.length;
      }
    }
    return this.have >= n;
  }
  async take(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) throw new EnvelopeError(`Truncated message: ${what} is incomplete`);
    this.have -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    for (let o = 0; o < n; ) {
      const c = this.chunks[0] as Buffer;
      const k = c.copy(out, o, 0, Math.min(c.length, n - o));
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }
}

async function readHeader(r: ByteReader, maxFrameSize: number): Promise<{ header: Header; body: Buffer; tag: Buffer }> {
  const fixed = await r.take(MAGIC.length + 2 + MESSAGE_ID_BYTES + 4, 'the header');
  if (!fixed.subarray(0, 4).equals(MAGIC)) throw new EnvelopeError('Not a Coffer envelope message');
  if (fixed[4] !== VERSION) throw new EnvelopeError(`Unsupported envelope format version ${fixed[4]}`);
  if (fixed[5] !== SUITE) throw new EnvelopeError(`Unsupported algorithm suite ${fixed[5]}`);
  const frameSize = fixed.readUInt32BE(38);
  if (frameSize < 1 || frameSize > maxFrameSize) throw new EnvelopeError(`Frame size ${frameSize} is outside 1..${maxFrameSize}`);
  const parts: Buffer[] = [Buffer.from(fixed)];
  const field = async (what: string) => {
    const len = await r.take(2, 'the header');
    const v = Buffer.from(await r.take(len.readUInt16BE(0), what));
    parts.push(Buffer.from(len), v);
    return v;
  };
  const keyArn = (await field('the key ARN')).toString('utf8');
  const encryptionContext = parseContext(await field('the encryption context'));
  const encryptedDataKey = await field('the encrypted data key');
  const tag = Buffer.from(await r.take(TAG_BYTES, 'the header tag'));
  const header = { messageId: Buffer.from(fixed.subarray(6, 38)), frameSize, keyArn, encryptionContext, encryptedDataKey };
  return { header, body: Buffer.concat(parts), tag };
}

function checkContext(actual: EncryptionContext, expected: EncryptionContext | undefined) {
  for (const [k, v] of Object.entries(expected ?? {})) {
    if (actual[k] !== v) throw new EnvelopeError(`The message's encryption context does not match the expected one for key "${k}"`);
  }
}

/** Decrypts an envelope message; `onHeader` sees the key ARN and context before the first plaintext. */
export async function* decryptIterable(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, materials: MaterialsProvider, opts: DecryptOptions = {},
  onHeader?: (h: DecryptedHeader) => void,
): AsyncGenerator<Buffer> {
  const r = new ByteReader(source);
  const { header, body, tag } = await readHeader(r, opts.maxFrameSize ?? MAX_FRAME_SIZE);
  checkContext(header.encryptionContext, opts.encryptionContext);
  const dataKey = await materials.getDecryptionMaterials({ keyArn: header.keyArn, encryptedDataKey: header.encryptedDataKey, encryptionContext: header.encryptionContext });
  let key: Buffer;
  try {
    key = messageKey(dataKey, header.messageId);
  } finally {
    dataKey.fill(0);
  }
  try {
    if (!headerTag(key, body).equals(tag)) throw new EnvelopeError('The header failed authentication');
    onHeader?.({ keyArn: header.keyArn, encryptionContext: header.encryptionContext, frameSize: header.frameSize });
    const hash = sha256(Buffer.concat([body, tag]));
    for (let seq = 1; ; seq++) {
      const head = Buffer.from(await r.take(FRAME_HEAD_BYTES, `frame ${seq}`));
      const type = head.readUInt8(0);
      const length = head.readUInt32BE(5);
      if (head.readUInt32BE(1) !== seq) throw new EnvelopeError(`Frame ${head.readUInt32BE(1)} found where frame ${seq} was expected`);
      if (type === FRAME_REGULAR ? length !== header.frameSize : type !== FRAME_FINAL || length > header.frameSize) {
        throw new EnvelopeError(`Frame ${seq} is malformed`);
      }
      yield openFrame(key, hash, head, seq, await r.take(length + TAG_BYTES, `frame ${seq}`));
      if (type === FRAME_FINAL) break;
    }
    if (!(await r.atEnd())) throw new EnvelopeError('Trailing bytes after the final frame');
  } finally {
    key.fill(0);
  }
}

/** A Duplex stream (write plaintext, read the message) for pipeline(). */
export const encryptStream = (materials: MaterialsProvider, opts: EncryptOptions): Duplex =>
  Duplex.from((source: AsyncIterable<Uint8Array>) => encryptIterable(source, materials, opts));

/**
 * A Duplex stream (write the message, read plaintext). Frames are authenticated one by one: treat the output as
 * untrusted until the stream ends without an error (truncation is detected only at the end).
 */
export const decryptStream = (materials: MaterialsProvider, opts: DecryptOptions = {}, onHeader?: (h: DecryptedHeader) => void): Duplex =>
  Duplex.from((source: AsyncIterable<Uint8Array>) => decryptIterable(source, materials, opts, onHeader));
