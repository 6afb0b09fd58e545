// Unit: the short-lived cache of key metadata and policies, on a fake clock.
import { describe, expect, it } from 'vitest';
import { MetadataCache } from '../../core/services/metadata-cache.js';

function setup(ttlMs = 1000) {
  let t = 0;
  const cache = new MetadataCache(ttlMs, () => t);
  const loads: string[] = [];
  const read = (key: string, value: string | null = `v:${key}`) =>
    cache.read(key, async () => {
      loads.push(key);
      return value;
    });
  return { cache, read, loads, advance: (ms: number) => (t += ms) };
}

describe('MetadataCache', () => {
  it('reuses a read for at most the TTL even when no invalidation comes (a lost notice)', async () => {
    const { read, loads, advance } = setup();
    await read('k');
    advance(999);
    await read('k');
    expect(loads).toEqual(['k']);
    advance(1);
    await read('k');
    expect(loads).toEqual(['k', 'k']);
  });

  it('reads afresh after invalidate()', async () => {
    const { cache, read, loads } = setup();
    await read('k');
    cache.invalidate();
    await read('k');
    expect(loads).toEqual(['k', 'k']);
  });

  it('never keeps a not-found answer, so a key created elsewhere is found at once', async () => {
    const { read, loads } = setup();
    expect(await read('k', null)).toBeNull();
    expect(await read('k')).toBe('v:k');
    expect(loads).toEqual(['k', 'k']);
  });

  it('shares one read between concurrent misses', async () => {
    const { read, loads } = setup();
    expect(await Promise.all([read('a'), read('a'), read('b')])).toEqual(['v:a', 'v:a', 'v:b']);
    expect(loads).toEqual(['a', 'b']);
  });

  it('forgets a failed read', async () => {
    const { cache, read, loads } = setup();
    await expect(cache.read('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    await read('k');
    expect(loads).toEqual(['k']);
  });

  it('caches nothing with a TTL of 0', async () => {
    const { read, loads } = setup(0);
    await read('k');
    await read('k');
    expect(loads).toEqual(['k', 'k']);
  });
});
