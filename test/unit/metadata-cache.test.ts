// Unit: the cache of key metadata and policies, on a fake clock.
import { describe, expect, it } from 'vitest';
import { MAX_AGE_MS, MetadataCache, scopes, scopesOfWrite } from '../../core/services/metadata-cache.js';

function setup(ttlMs = 1000, maxEntries?: number) {
  let t = 0;
  const cache = new MetadataCache(ttlMs, () => t, maxEntries);
  const loads: string[] = [];
  // Entries 'a1', 'a2' share scope 'a'; every key's scope is its first letter.
  const read = (key: string, value: string | null = `v:${key}`) =>
    cache.read(key, key.slice(0, 1), async () => {
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
    await expect(cache.read('k', 'k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    await read('k');
    expect(loads).toEqual(['k']);
  });

  it('caches nothing with a TTL of 0', async () => {
    const { read, loads } = setup(0);
    await read('k');
    await read('k');
    expect(loads).toEqual(['k', 'k']);
  });

  it('invalidates by scope: entries of other scopes stay', async () => {
    const { cache, read, loads } = setup();
    await Promise.all([read('a1'), read('a2'), read('b1')]);
    cache.invalidate(['a']);
    await Promise.all([read('a1'), read('a2'), read('b1')]);
    expect(loads).toEqual(['a1', 'a2', 'b1', 'a1', 'a2']);
    cache.invalidate(null);
    await read('b1');
    expect(loads.at(-1)).toBe('b1');
  });

  it('while probes come back an entry outlives its TTL; once they stop it expires within the TTL of the last one', async () => {
    const { cache, read, loads, advance } = setup();
    await read('k');
    for (let i = 0; i < 20; i++) {
      advance(250);
      cache.proven(cache.clock() - 5); // a probe sent 5 ms ago came back
      await read('k');
    }
    expect(loads).toEqual(['k']);
    advance(994);
    await read('k');
    expect(loads).toEqual(['k']);
    advance(1);
    await read('k');
    expect(loads).toEqual(['k', 'k']);
  });

  it('even while probes come back, an entry is read again after MAX_AGE_MS (changes made around Coffer)', async () => {
    const { cache, read, loads, advance } = setup();
    await read('k');
    for (let t = 0; t < MAX_AGE_MS - 250; t += 250) {
      advance(250);
      cache.proven(cache.clock());
    }
    await read('k');
    expect(loads).toEqual(['k']);
    advance(250);
    cache.proven(cache.clock());
    await read('k');
    expect(loads).toEqual(['k', 'k']);
  });

  it('a probe older than an entry does not extend it', async () => {
    const { cache, read, loads, advance } = setup();
    cache.proven(0);
    advance(10);
    await read('k');
    advance(1000);
    await read('k');
    expect(loads).toEqual(['k', 'k']);
  });

  it('past its bound drops the least recently read entries, not everything', async () => {
    const { read, loads } = setup(1000, 3);
    await read('a');
    await read('b');
    await read('c');
    await read('a'); // a is now the most recent
    await read('d'); // b goes
    await Promise.all([read('a'), read('c'), read('d')]);
    expect(loads).toEqual(['a', 'b', 'c', 'd']);
    await read('b');
    expect(loads).toEqual(['a', 'b', 'c', 'd', 'b']);
  });
});

describe('scopesOfWrite', () => {
  it('names the key, alias or user a write touches, nothing for uncached tables, and everything when it cannot tell', () => {
    expect(scopesOfWrite('keys', 'insert', [{ id: 'k1' }, {}])).toEqual([scopes.key('k1')]);
    expect(scopesOfWrite('keys', 'update', ['k1', {}])).toEqual([scopes.key('k1')]);
    expect(scopesOfWrite('keys', 'delete', ['k1'])).toBeNull();
    expect(scopesOfWrite('keyPolicies', 'put', ['k1', '{}'])).toEqual([scopes.key('k1')]);
    expect(scopesOfWrite('rotations', 'addRotation', [{ keyId: 'k1' }, {}])).toEqual([scopes.key('k1')]);
    expect(scopesOfWrite('grants', 'insert', [{ keyId: 'k1' }])).toEqual([scopes.key('k1')]);
    expect(scopesOfWrite('grants', 'delete', ['g1'])).toBeNull();
    expect(scopesOfWrite('aliases', 'insert', [{ accountId: 'a', name: 'alias/x' }])).toEqual([scopes.alias('a', 'alias/x')]);
    expect(scopesOfWrite('aliases', 'retarget', ['a', 'alias/x', 'k2', new Date()])).toEqual([scopes.alias('a', 'alias/x')]);
    expect(scopesOfWrite('userPolicies', 'put', [{ accountId: 'a', userName: 'u' }])).toEqual([scopes.user('a', 'u')]);
    expect(scopesOfWrite('users', 'delete', ['a', 'u'])).toEqual([scopes.user('a', 'u')]);
    expect(scopesOfWrite('tags', 'put', ['k1', []])).toEqual([]);
    expect(scopesOfWrite('somethingNew', 'put', [])).toBeNull();
  });
});
