// Envelope encryption: round trips at the frame boundaries, streams, tampering, the committed vectors, and real KMS.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CofferClient } from '../../sdk/client.js';
import {
  decrypt, decryptStream, encrypt, encryptStream, EnvelopeError, staticMaterials, type MaterialsProvider,
} from '../../sdk/envelope/index.js';
import { FRAME_HEAD_BYTES, TAG_BYTES } from '../../sdk/envelope/format.js';
import { ADMIN, startCoffer, type CofferProcess } from '../helpers/server.js';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000001';
const fixed = (): MaterialsProvider => staticMaterials({ dataKey: Buffer.alloc(32, 7), encryptedDataKey: Buffer.from('edk'), keyArn: ARN });
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + 5) & 0xff));
const FRAME = 64;
const frameLen = (content: number) => FRAME_HEAD_BYTES + content + TAG_BYTES;

describe('envelope round trips (fixed data key)', () => {
  for (const n of [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME, 3 * FRAME + 7]) {
    it(`round-trips ${n} bytes with frame size ${FRAME}`, async () => {
      const msg = await encrypt(fixed(), bytes(n), { keyId: ARN, frameSize: FRAME, encryptionContext: { n: String(n) } });
      const out = await decrypt(fixed(), msg, { encryptionContext: { n: String(n) } });
      expect(out.plaintext).toEqual(bytes(n));
      expect(out.keyArn).toBe(ARN);
      expect(out.encryptionContext).toEqual({ n: String(n) });
      const frames = Math.max(1, Math.ceil(n / FRAME));
      const last = n - (frames - 1) * FRAME;
      const header = msg.length - (frames - 1) * frameLen(FRAME) - frameLen(last);
      expect(msg.subarray(header, header + 1)[0]).toBe(frames === 1 ? 1 : 0);
      expect(msg.readUInt32BE(msg.length - frameLen(last) + 1)).toBe(frames);
    });
  }

  it('streams a multi-frame message through Duplex streams with odd chunk sizes, at one frame of memory', async () => {
    const total = 1_000_003;
    const src = bytes(total);
    const chunks = function* () {
      for (let o = 0; o < total; o += 4093) yield src.subarray(o, o + 4093);
    };
    const sealed: Buffer[] = [];
    await pipeline(Readable.from(chunks()), encryptStream(fixed(), { keyId: ARN, frameSize: 8192, encryptionContext: { s: '1' } }), new Writable({
      write(c: Buffer, _e, cb) { sealed.push(c); cb(); },
    }));
    expect(Math.max(...sealed.map((c) => c.length))).toBeLessThanOrEqual(frameLen(8192) + 1024);
    const message = Buffer.concat(sealed);
    const out: Buffer[] = [];
    let header: unknown;
    const pieces = function* () {
      for (let o = 0; o < message.length; o += 1000) yield message.subarray(o, o + 1000);
    };
    await pipeline(Readable.from(pieces()), decryptStream(fixed(), { encryptionContext: { s: '1' } }, (h) => (header = h)), new Writable({
      write(c: Buffer, _e, cb) { out.push(Buffer.from(c)); cb(); },
    }));
    expect(Buffer.concat(out).equals(src)).toBe(true);
    expect(header).toEqual({ keyArn: ARN, encryptionContext: { s: '1' }, frameSize: 8192 });
  });

  it('uses a fresh message id, so the same plaintext never gives the same message', async () => {
    const a = await encrypt(fixed(), bytes(10), { keyId: ARN });
    const b = await encrypt(fixed(), bytes(10), { keyId: ARN });
    expect(a.equals(b)).toBe(false);
  });

  it('zeroes the plaintext data key it was given', async () => {
    const dataKey = Buffer.alloc(32, 9);
    const provider: MaterialsProvider = { getEncryptionMaterials: async () => ({ dataKey, encryptedDataKey: Buffer.from('e'), keyArn: ARN }), getDecryptionMaterials: async () => dataKey };
    await encrypt(provider, bytes(5), { keyId: ARN });
    expect(dataKey.equals(Buffer.alloc(32))).toBe(true);
  });
});

describe('envelope tampering fails', () => {
  const setup = async () => encrypt(fixed(), bytes(3 * FRAME + 10), { keyId: ARN, frameSize: FRAME, encryptionContext: { k: 'v' } });
  const fails = (m: Uint8Array, expected?: RegExp) => expect(decrypt(fixed(), m)).rejects.toThrow(expected ?? EnvelopeError);

  it('a changed byte anywhere (header or frame)', async () => {
    const msg = await setup();
    for (const at of [0, 5, 40, 60, msg.length - frameLen(10) - 3, msg.length - 20, msg.length - 1]) {
      const bad = Buffer.from(msg);
      bad[at]! ^= 1;
      await expect(decrypt(fixed(), bad), `byte ${at}`).rejects.toBeInstanceOf(EnvelopeError);
    }
  });
  it('a truncated final frame, a missing final frame, trailing bytes', async () => {
    const msg = await setup();
    await fails(msg.subarray(0, msg.length - 1), /Truncated/);
    await fails(msg.subarray(0, msg.length - frameLen(10)), /Truncated/);
    await fails(Buffer.concat([msg, Buffer.from([0])]), /Trailing/);
  });
  it('reordered frames, and a regular frame relabelled final', async () => {
    const msg = await setup();
    const header = msg.length - 3 * frameLen(FRAME) - frameLen(10);
    const f = (i: number) => msg.subarray(header + i * frameLen(FRAME), header + (i + 1) * frameLen(FRAME));
    await fails(Buffer.concat([msg.subarray(0, header), f(1), f(0), f(2), msg.subarray(header + 3 * frameLen(FRAME))]));
    const relabelled = Buffer.from(msg.subarray(0, header + frameLen(FRAME)));
    relabelled[header] = 1;
    await fails(relabelled, /failed authentication/);
  });
  it('another encryption context than expected, or another data key', async () => {
    const msg = await setup();
    await expect(decrypt(fixed(), msg, { encryptionContext: { k: 'other' } })).rejects.toThrow(/encryption context/);
    const other = staticMaterials({ dataKey: Buffer.alloc(32, 8), encryptedDataKey: Buffer.from('edk'), keyArn: ARN });
    await expect(decrypt(other, msg)).rejects.toThrow(/header failed authentication/);
  });
});

describe('envelope test vectors', () => {
  const dir = resolve(import.meta.dirname, '..', 'vectors', 'envelope');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  it('has vectors', () => expect(files.length).toBeGreaterThanOrEqual(4));
  for (const file of files) {
    it(`decrypts and reproduces ${file}`, async () => {
      const v = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const m = staticMaterials({ dataKey: Buffer.from(v.dataKey, 'hex'), encryptedDataKey: Buffer.from(v.encryptedDataKey, 'hex'), keyArn: v.keyArn });
      const message = Buffer.from(v.header + v.frames.join(''), 'hex');
      expect(message.toString('hex')).toBe(v.message);
      const out = await decrypt(m, message);
      expect(out.plaintext.toString('hex')).toBe(v.plaintext);
      expect(out.encryptionContext).toEqual(v.encryptionContext);
      const again = await encrypt(m, Buffer.from(v.plaintext, 'hex'), { keyId: v.keyArn, encryptionContext: v.encryptionContext, frameSize: v.frameSize, messageId: Buffer.from(v.messageId, 'hex') });
      expect(again.toString('hex')).toBe(v.message);
    });
  }
});

describe('envelope with KMS (real server)', () => {
  let server: CofferProcess;
  let client: CofferClient;
  beforeAll(async () => {
    server = await startCoffer();
    client = new CofferClient({ endpoint: server.url, credentials: ADMIN, env: {} });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('encrypts under a KMS key and decrypts with the key ARN and context from the header', async () => {
    const key = (await client.createKey({})).KeyMetadata!;
    const msg = await encrypt(client, bytes(70_000), { keyId: key.KeyId, encryptionContext: { app: 'env' } });
    const out = await decrypt(client, msg);
    expect(out.plaintext.equals(bytes(70_000))).toBe(true);
    expect(out.keyArn).toBe(key.Arn);
    expect(out.encryptionContext).toEqual({ app: 'env' });
  });

  it('fails when the key is disabled, with the service error', async () => {
    const key = (await client.createKey({})).KeyMetadata!;
    const msg = await encrypt(client, bytes(10), { keyId: key.KeyId });
    await client.disableKey({ KeyId: key.KeyId });
    await expect(decrypt(client, msg)).rejects.toMatchObject({ name: 'DisabledException' });
  });
});
