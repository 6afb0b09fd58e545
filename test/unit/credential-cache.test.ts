// Unit: the short-lived access-key lookup cache, on a fake clock.
import { describe, expect, it } from 'vitest';
import { cachedCredentialLookup } from '../../core/services/credential-cache.js';
import type { ResolvedCredential } from '../../core/services/credentials.js';

const cred = (id: string): ResolvedCredential => ({
  secretAccessKey: 's'.repeat(40),
  caller: { arn: `arn:aws:iam::111122223333:user/${id}`, accountId: '111122223333', userName: id, accessKeyId: id },
});

function setup(result: (id: string) => Promise<ResolvedCredential | null> = async (id) => cred(id)) {
  let t = 0;
  const calls: string[] = [];
  const lookup = cachedCredentialLookup(
    (id) => {
      calls.push(id);
      return result(id);
    },
    1000,
    () => t,
  );
  return { lookup, calls, advance: (ms: number) => (t += ms) };
}

describe('cachedCredentialLookup', () => {
  it('reuses a found credential for the TTL, then looks it up again', async () => {
    const { lookup, calls, advance } = setup();
    await lookup('A');
    advance(999);
    await lookup('A');
    expect(calls).toEqual(['A']);
    advance(1);
    await lookup('A');
    expect(calls).toEqual(['A', 'A']);
  });

  it('shares one lookup between concurrent misses', async () => {
    const { lookup, calls } = setup();
    const all = await Promise.all([lookup('A'), lookup('A'), lookup('B')]);
    expect(all.map((c) => c?.caller.userName)).toEqual(['A', 'A', 'B']);
    expect(calls).toEqual(['A', 'B']);
  });

  it('keeps neither unknown access keys nor failed lookups', async () => {
    let fail = true;
    const { lookup, calls } = setup(async (id) => {
      if (id === 'unknown') return null;
      if (fail) throw new Error('database down');
      return cred(id);
    });
    expect(await lookup('unknown')).toBeNull();
    expect(await lookup('unknown')).toBeNull();
    await expect(lookup('A')).rejects.toThrow('database down');
    fail = false;
    expect((await lookup('A'))?.caller.userName).toBe('A');
    expect(calls).toEqual(['unknown', 'unknown', 'A', 'A']);
  });

  it('forgets an access key at once when invalidated', async () => {
    const { lookup, calls } = setup();
    await lookup('A');
    lookup.invalidate('A');
    await lookup('A');
    expect(calls).toEqual(['A', 'A']);
  });

  it('caches nothing with a TTL of 0', async () => {
    const calls: string[] = [];
    const lookup = cachedCredentialLookup(async (id) => (calls.push(id), cred(id)), 0);
    await lookup('A');
    await lookup('A');
    expect(calls).toEqual(['A', 'A']);
  });
});
