// The data-key cache: each reuse limit, LRU capacity, partitioning by key and context, counters, zeroing on eviction.
import { describe, expect, it } from 'vitest';
import { CachingMaterialsProvider, decrypt, encrypt, type MaterialsProvider } from '../../sdk/envelope/index.js';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/k';

/** A provider that counts its calls and hands out a distinct data key each time. */
function counting() {
  const calls = { enc: 0, dec: 0 };
  const issued: Uint8Array[] = [];
  const p: MaterialsProvider = {
    async getEncryptionMaterials() {
      calls.enc++;
      const dataKey = new Uint8Array(32).fill(calls.enc);
      issued.push(dataKey);
      return { dataKey: Uint8Array.from(dataKey), encryptedDataKey: Uint8Array.of(calls.enc), keyArn: ARN };
    },
    async getDecryptionMaterials(req) {
      calls.dec++;
      return new Uint8Array(32).fill(req.encryptedDataKey[0]!);
    },
  };
  return { p, calls };
}

let clock = 0;
const limits = (over: object = {}) => ({ maxAgeMs: 1000, maxMessages: 100, maxBytes: 1_000_000, now: () => clock, ...over });
const req = (keyId = 'k', ctx: Record<string, string> = {}, plaintextLength: number | undefined = 10) => ({ keyId, encryptionContext: ctx, plaintextLength });

describe('CachingMaterialsProvider', () => {
  it('requires maxAgeMs, maxMessages and maxBytes', () => {
    const { p } = counting();
    expect(() => new CachingMaterialsProvider(p, { maxMessages: 1, maxBytes: 1 } as never)).toThrow(/maxAgeMs/);
    expect(() => new CachingMaterialsProvider(p, { maxAgeMs: 1, maxBytes: 1 } as never)).toThrow(/maxMessages/);
    expect(() => new CachingMaterialsProvider(p, { maxAgeMs: 1, maxMessages: 1 } as never)).toThrow(/maxBytes/);
  });

  it('reuses a data key and counts hits and misses', async () => {
    const { p, calls } = counting();
    const c = new CachingMaterialsProvider(p, limits());
    const a = await c.getEncryptionMaterials(req());
    const b = await c.getEncryptionMaterials(req());
    expect(calls.enc).toBe(1);
    expect(Buffer.from(a.encryptedDataKey)).toEqual(Buffer.from(b.encryptedDataKey));
    expect(c.stats).toMatchObject({ hits: 1, misses: 1, size: 1 });
  });

  it('honours maxAgeMs', async () => {
    clock = 0;
    const { p, calls } = counting();
    const c = new CachingMaterialsProvider(p, limits({ maxAgeMs: 100 }));
    await c.getEncryptionMaterials(req());
    clock = 99;
    await c.getEncryptionMaterials(req());
    expect(calls.enc).toBe(1);
    clock = 100;
    await c.getEncryptionMaterials(req());
    expect(calls.enc).toBe(2);
    expect(c.stats).toMatchObject({ hits: 1, misses: 2 });
  });

  it('honours maxMessages', async () => {
    const { p, calls } = counting();
    const c = new CachingMaterialsProvider(p, limits({ maxMessages: 3 }));
    for (let i = 0; i < 7; i++) await c.getEncryptionMaterials(req());
    expect(calls.enc).toBe(3); // messages 1-3, 4-6, 7
  });

  it('honours maxBytes, and bypasses the cache for a message larger than maxBytes or of unknown length', async () => {
    const { p, calls } = counting();
    const c = new CachingMaterialsProvider(p, limits({ maxBytes: 25 }));
    await c.getEncryptionMaterials(req('k', {}, 10));
    await c.getEncryptionMaterials(req('k', {}, 10));
    expect(calls.enc).toBe(1);
    await c.getEncryptionMaterials(req('k', {}, 10)); // 30 > 25
    expect(calls.enc).toBe(2);
    await c.getEncryptionMaterials(req('k', {}, 26));
    await c.getEncryptionMaterials({ ...req('k', {}), plaintextLength: undefined });
    expect(calls.enc).toBe(4);
    expect(c.stats.bypassed).toBe(2);
  });

  it('partitions entries by key id and encryption context', async () => {
    const { p, calls } = counting();
    const c = new CachingMaterialsProvider(p, limits());
    await c.getEncryptionMaterials(req('k', { a: '1' }));
    await c.getEncryptionMaterials(req('k', { a: '2' }));
    await c.getEncryptionMaterials(req('j', { a: '1' }));
    await c.getEncryptionMaterials(req('k', { a: '1' }));
    expect(calls.enc).toBe(3);
  });

  it('evicts the least recently used entry beyond capacity, zeroing its data key', async () => {
    const { p, calls } = counting();
    const c = new CachingMaterialsProvider(p, limits({ capacity: 2 }));
    await c.getEncryptionMaterials(req('a'));
    await c.getEncryptionMaterials(req('b'));
    await c.getEncryptionMaterials(req('a')); // a is now most recent
    await c.getEncryptionMaterials(req('c')); // evicts b
    expect(c.stats).toMatchObject({ size: 2, evictions: 1 });
    await c.getEncryptionMaterials(req('a'));
    expect(calls.enc).toBe(3);
    await c.getEncryptionMaterials(req('b'));
    expect(calls.enc).toBe(4);
    const internal = (c as unknown as { entries: Map<string, { dataKey: Uint8Array }> }).entries;
    const keys = [...internal.values()].map((e) => e.dataKey);
    c.clear();
    for (const k of keys) expect(k.every((x) => x === 0)).toBe(true);
  });

  it('caches decryption materials by encrypted data key, and envelope messages round-trip through it', async () => {
    const { p, calls } = counting();
    const c = new CachingMaterialsProvider(p, limits());
    const m1 = await encrypt(c, Buffer.from('one'), { keyId: 'k' });
    const m2 = await encrypt(c, Buffer.from('two'), { keyId: 'k' });
    expect(calls.enc).toBe(1);
    expect((await decrypt(c, m1)).plaintext.toString()).toBe('one');
    expect((await decrypt(c, m2)).plaintext.toString()).toBe('two');
    expect(calls.dec).toBe(1);
  });
});
