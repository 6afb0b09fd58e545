// Writes the envelope test vectors (test/vectors/envelope/*.json) from fixed data keys and message ids, without KMS.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encrypt, staticMaterials } from '../sdk/envelope/index.js';
import { FRAME_HEAD_BYTES, TAG_BYTES } from '../sdk/envelope/format.js';

const OUT = resolve(import.meta.dirname, '..', 'test', 'vectors', 'envelope');
const hexBytes = (seed: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff));

interface Case { name: string; plaintext: Buffer; frameSize: number; context: Record<string, string> }
const cases: Case[] = [
  { name: 'empty', plaintext: Buffer.alloc(0), frameSize: 16, context: {} },
  { name: 'one-byte', plaintext: Buffer.from('x'), frameSize: 16, context: { purpose: 'test vector' } },
  { name: 'exact-frame', plaintext: hexBytes(3, 16), frameSize: 16, context: { a: '1', b: '2' } },
  { name: 'multi-frame', plaintext: Buffer.from('Coffer envelope format version 1: framed AES-256-GCM.'), frameSize: 16, context: { tenant: 'acme', 'ünïcode': 'välue' } },
];

/** Splits a message into its header and frames by walking the frame heads. */
function split(message: Buffer, headerLength: number): string[] {
  const frames: string[] = [];
  for (let o = headerLength; o < message.length; ) {
    const len = FRAME_HEAD_BYTES + message.readUInt32BE(o + 5) + TAG_BYTES;
    frames.push(message.subarray(o, o + len).toString('hex'));
    o += len;
  }
  return frames;
}

for (const [i, c] of cases.entries()) {
  const dataKey = hexBytes(100 + i, 32);
  const encryptedDataKey = hexBytes(200 + i, 48);
  const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/0d8f1c5e-2b7a-4c39-9e61-5a4b3c2d1e0f';
  const messageId = hexBytes(300 + i, 32);
  const message = await encrypt(staticMaterials({ dataKey, encryptedDataKey, keyArn }), c.plaintext, {
    keyId: keyArn, encryptionContext: c.context, frameSize: c.frameSize, messageId,
  });
  const headerLength = message.length - framesLength(c);
  const frames = split(message, headerLength);
  writeFileSync(join(OUT, `${c.name}.json`), JSON.stringify({
    description: `Coffer envelope v1: ${c.name} (${c.plaintext.length} plaintext bytes, frame size ${c.frameSize})`,
    dataKey: dataKey.toString('hex'), encryptedDataKey: encryptedDataKey.toString('hex'), keyArn, messageId: messageId.toString('hex'),
    frameSize: c.frameSize, encryptionContext: c.context, plaintext: c.plaintext.toString('hex'),
    header: message.subarray(0, headerLength).toString('hex'),
    frames, message: message.toString('hex'),
  }, null, 2) + '\n');
}

/** Frame bytes of a message: every frame is FRAME_HEAD + content + TAG, the content being frameSize except the final one. */
function framesLength(c: Case): number {
  const full = Math.floor(Math.max(c.plaintext.length - 1, 0) / c.frameSize);
  const last = c.plaintext.length - full * c.frameSize;
  return full * (FRAME_HEAD_BYTES + c.frameSize + TAG_BYTES) + FRAME_HEAD_BYTES + last + TAG_BYTES;
}
console.log(`wrote ${cases.length} vectors to ${OUT}`);
