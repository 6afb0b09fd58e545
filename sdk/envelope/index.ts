// Envelope encryption for buffers and streams: a data key from KMS (or a cache), AES-256-GCM frames on the client.
import type { Duplex } from 'node:stream';
import type { CofferClient } from '../client.js';
import { isProvider, kmsMaterials, type MaterialsProvider } from './materials.js';
import * as s from './stream.js';

export { EnvelopeError, DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE, type EncryptionContext } from './format.js';
export { kmsMaterials, staticMaterials, type MaterialsProvider, type EncryptionMaterials } from './materials.js';
export { encryptIterable, decryptIterable, type EncryptOptions, type DecryptOptions, type DecryptedHeader } from './stream.js';
export { CachingMaterialsProvider, type CacheLimits, type CacheStats } from './cache.js';

type Source = CofferClient | MaterialsProvider;
const provider = (x: Source): MaterialsProvider => (isProvider(x) ? x : kmsMaterials(x));

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const p of it) parts.push(p);
    return Buffer.concat(parts);
  } finally {
    for (const p of parts) p.fill(0);
  }
}

/** Encrypts a buffer into one envelope message. */
export function encrypt(from: Source, plaintext: Uint8Array, opts: s.EncryptOptions): Promise<Buffer> {
  return collect(s.encryptIterable([plaintext], provider(from), { plaintextLength: plaintext.length, ...opts }));
}

export interface DecryptResult extends s.DecryptedHeader {
  plaintext: Buffer;
}

/** Decrypts a whole envelope message; nothing is returned unless every frame and the end of the message check out. */
export async function decrypt(from: Source, message: Uint8Array, opts: s.DecryptOptions = {}): Promise<DecryptResult> {
  let header: s.DecryptedHeader | undefined;
  const plaintext = await collect(s.decryptIterable([message], provider(from), opts, (h) => (header = h)));
  return { ...(header as s.DecryptedHeader), plaintext };
}

export const encryptStream = (from: Source, opts: s.EncryptOptions): Duplex => s.encryptStream(provider(from), opts);
export const decryptStream = (from: Source, opts: s.DecryptOptions = {}, onHeader?: (h: s.DecryptedHeader) => void): Duplex =>
  s.decryptStream(provider(from), opts, onHeader);
