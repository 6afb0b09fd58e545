// Tampering: every byte of a ciphertext changed, truncations, extensions, header rewrites and swaps between keys,
// versions and contexts, through Decrypt and ReEncrypt: InvalidCiphertextException every time, and nothing breaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, ReEncryptCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer, type CofferProcess } from '../helpers/server.js';
import { Recorder, SOAK } from './record.js';

const rec = new Recorder('tampering: ciphertexts');
let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url });
  kms = server.client();
});

afterAll(async () => {
  rec.save();
  kms?.destroy();
  await server?.stop();
  await db?.drop();
});

const newKey = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
const CTX = { purpose: 'tamper-test', tenant: 't1' };

interface Variant { what: string; blob: Uint8Array; context?: Record<string, string> | undefined; keyId?: string; expect?: string }

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'success';
  } catch (e) {
    return (e as Error).name;
  }
}

/** Sends every variant through Decrypt (and every fourth through ReEncrypt), 16 at a time. */
async function refuseAll(variants: Variant[], reEncryptTo: string): Promise<void> {
  for (let i = 0; i < variants.length; i += 16) {
    await Promise.all(
      variants.slice(i, i + 16).map(async (v, j) => {
        const want = v.expect ?? 'InvalidCiphertextException';
        const context = 'context' in v ? v.context : CTX;
        const got = await errorName(kms.send(new DecryptCommand({ CiphertextBlob: v.blob, EncryptionContext: context, KeyId: v.keyId })));
        rec.check(got === want, `Decrypt ${v.what}: ${got}`);
        if ((i + j) % 4 === 0) {
          const re = await errorName(kms.send(new ReEncryptCommand({ CiphertextBlob: v.blob, SourceEncryptionContext: context, SourceKeyId: v.keyId, DestinationKeyId: reEncryptTo })));
          rec.check(re === want, `ReEncrypt ${v.what}: ${re}`);
        }
      }),
    );
  }
}

const flipped = (b: Uint8Array, i: number, mask: number) => {
  const v = b.slice();
  v[i] = (v[i] as number) ^ mask;
  return v;
};
const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');

describe('tampering', () => {
  it('every byte changed (one bit and all bits), every truncation, extensions', async () => {
    const key = await newKey();
    const dest = await newKey();
    const sizes = SOAK ? [1, 16, 17, 100, 1000, 4096] : [1, 33];
    for (const size of sizes) {
      const blob = (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: randomBytes(size), EncryptionContext: CTX }))).CiphertextBlob!;
      const variants: Variant[] = [];
      for (let i = 0; i < blob.length; i++) {
        variants.push({ what: `size ${size} byte ${i} ^0x01`, blob: flipped(blob, i, 0x01) }, { what: `size ${size} byte ${i} ^0xff`, blob: flipped(blob, i, 0xff) });
        if (SOAK) for (const bit of [0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]) variants.push({ what: `size ${size} byte ${i} ^${bit}`, blob: flipped(blob, i, bit) });
      }
      for (let n = 1; n < blob.length; n++) variants.push({ what: `size ${size} truncated to ${n}`, blob: blob.slice(0, n) });
      for (const extra of [Uint8Array.of(0), Uint8Array.of(1), randomBytes(16), new Uint8Array(6144 - blob.length)]) {
        variants.push({ what: `size ${size} extended by ${extra.length}`, blob: Buffer.concat([blob, extra]) });
      }
      variants.push({ what: 'empty blob', blob: new Uint8Array(0), expect: 'ValidationException' });
      variants.push({ what: 'over 6144 bytes', blob: Buffer.concat([blob, new Uint8Array(6145 - blob.length)]), expect: 'ValidationException' });
      await refuseAll(variants, dest.KeyId!);
      // The untouched blob still decrypts: no refusal changed any state.
      const ok = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: CTX }));
      rec.check(ok.Plaintext!.length === size, 'original no longer decrypts');
    }
    expect(rec.counts.failures).toBe(0);
  });

  it('header rewrites: format, key id, version id, algorithm, IV; splices; other keys, versions and contexts', async () => {
    const a = await newKey();
    const b = await newKey();
    const blobA = (await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.from('header rewrite'), EncryptionContext: CTX }))).CiphertextBlob!;
    const blobA2 = (await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.from('header rewrite'), EncryptionContext: CTX }))).CiphertextBlob!;
    const blobB = (await kms.send(new EncryptCommand({ KeyId: b.KeyId, Plaintext: Buffer.from('header rewrite'), EncryptionContext: CTX }))).CiphertextBlob!;
    const dataKey = (await kms.send(new GenerateDataKeyCommand({ KeyId: a.KeyId, KeySpec: 'AES_256', EncryptionContext: CTX }))).CiphertextBlob!;
    const versionB = blobB.slice(17, 33);
    const set = (blob: Uint8Array, at: number, bytes: Uint8Array) => {
      const v = blob.slice();
      v.set(bytes, at);
      return v;
    };
    const variants: Variant[] = [];
    for (let f = 0; f < 256; f++) if (f !== 1) variants.push({ what: `format ${f}`, blob: set(blobA, 0, Uint8Array.of(f)) });
    for (let alg = 0; alg < 256; alg++) if (alg !== 1) variants.push({ what: `algorithm ${alg}`, blob: set(blobA, 33, Uint8Array.of(alg)) });
    variants.push(
      { what: 'key id of another key', blob: set(blobA, 1, uuidBytes(b.KeyId!)) },
      { what: 'key id and version id of another key', blob: set(set(blobA, 1, uuidBytes(b.KeyId!)), 17, versionB) },
      { what: 'version id of another key', blob: set(blobA, 17, versionB) },
      { what: 'random key id', blob: set(blobA, 1, randomBytes(16)) },
      { what: 'random version id', blob: set(blobA, 17, randomBytes(16)) },
      { what: 'zero version id', blob: set(blobA, 17, new Uint8Array(16)) },
      { what: 'random IV', blob: set(blobA, 34, randomBytes(12)) },
      { what: 'zero IV', blob: set(blobA, 34, new Uint8Array(12)) },
      { what: 'IV of another ciphertext', blob: set(blobA, 34, blobA2.slice(34, 46)) },
      { what: 'header of A, body of B', blob: Buffer.concat([blobA.slice(0, 46), blobB.slice(46)]) },
      { what: 'header of A, body of A2', blob: Buffer.concat([blobA.slice(0, 46), blobA2.slice(46)]) },
      { what: 'tag of A2', blob: Buffer.concat([blobA.slice(0, blobA.length - 16), blobA2.slice(blobA2.length - 16)]) },
      { what: 'body and tag swapped', blob: Buffer.concat([blobA.slice(0, 46), blobA.slice(blobA.length - 16), blobA.slice(46, blobA.length - 16)]) },
      { what: 'two blobs concatenated', blob: Buffer.concat([blobA, blobA2]) },
      { what: 'no context', blob: blobA, context: undefined },
      { what: 'empty context', blob: blobA, context: {} },
      { what: 'context value changed', blob: blobA, context: { ...CTX, tenant: 't2' } },
      { what: 'context key added', blob: blobA, context: { ...CTX, extra: '' } },
      { what: 'context key dropped', blob: blobA, context: { purpose: CTX.purpose } },
      { what: 'context key case changed', blob: blobA, context: { Purpose: CTX.purpose, tenant: CTX.tenant } },
      { what: 'context split differently', blob: blobA, context: { purpose: 'tamper-testtenant', t1: '' } },
      { what: 'data key blob with a changed byte', blob: flipped(dataKey, dataKey.length - 1, 1) },
      { what: 'data key blob, other context', blob: dataKey, context: { other: 'x' } },
      { what: 'blob of A, KeyId of B', blob: blobA, keyId: b.KeyId!, expect: 'IncorrectKeyException' },
      { what: 'blob of A, KeyId of B (ARN)', blob: blobA, keyId: b.Arn!, expect: 'IncorrectKeyException' },
      { what: 'A rewritten to B, KeyId of B', blob: set(set(blobA, 1, uuidBytes(b.KeyId!)), 17, versionB), keyId: b.KeyId! },
      { what: 'random bytes of the same length', blob: randomBytes(blobA.length) },
      { what: 'valid header, random body', blob: Buffer.concat([blobA.slice(0, 46), randomBytes(blobA.length - 46)]) },
    );
    await refuseAll(variants, b.KeyId!);
    for (const [blob, key] of [[blobA, a], [blobA2, a], [blobB, b]] as const) {
      const ok = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: CTX }));
      rec.check(ok.KeyId === key.Arn, 'an original no longer decrypts');
    }
    expect(rec.counts.failures).toBe(0);
  });

  it('random tampering: random positions, random masks, random lengths', async () => {
    const key = await newKey();
    const blob = (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: randomBytes(64), EncryptionContext: CTX }))).CiphertextBlob!;
    const variants: Variant[] = [];
    for (let n = 0; n < (SOAK ? 5000 : 300); n++) {
      const v = blob.slice();
      const changes = 1 + Math.floor(Math.random() * 4);
      for (let c = 0; c < changes; c++) {
        const i = Math.floor(Math.random() * v.length);
        v[i] = (v[i] as number) ^ (1 + Math.floor(Math.random() * 255));
      }
      variants.push({ what: `random ${changes} changes`, blob: v });
    }
    await refuseAll(variants, key.KeyId!);
    expect(rec.counts.failures).toBe(0);
  });
});
