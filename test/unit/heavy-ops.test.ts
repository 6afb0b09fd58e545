// The cap on concurrent large-RSA private-key operations (hsm/heavy-ops.ts), and when small AES calls go synchronous
// (hsm/sync-calls.ts): pure scheduling decisions, no token.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultHeavyLimit, HeavyOpGate } from '../../hsm/heavy-ops.js';
import { defaultSyncMaxBytes } from '../../hsm/sync-calls.js';

/** An operation that stays in flight until released, recording how many ran at once. */
function tracker() {
  let now = 0;
  let peak = 0;
  const releases: Array<() => void> = [];
  const op = () =>
    new Promise<void>((resolve) => {
      now += 1;
      peak = Math.max(peak, now);
      releases.push(() => {
        now -= 1;
        resolve();
      });
    });
  return { op, peak: () => peak, releaseAll: async () => { while (releases.length) { releases.shift()?.(); await new Promise((r) => setImmediate(r)); } } };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('HeavyOpGate', () => {
  it('runs at most limit RSA_4096 operations at once, the rest in arrival order', async () => {
    const gate = new HeavyOpGate(1);
    const t = tracker();
    const order: number[] = [];
    const all = [1, 2, 3].map((n) => gate.run('RSA_4096', async () => { order.push(n); await t.op(); }));
    await tick();
    expect(order).toEqual([1]);
    await t.releaseAll();
    await Promise.all(all);
    expect(t.peak()).toBe(1);
    expect(order).toEqual([1, 2, 3]);
  });

  it('does not hold back ECC or RSA_2048 operations', async () => {
    const gate = new HeavyOpGate(1);
    const t = tracker();
    const all = (['ECC_NIST_P256', 'RSA_2048', 'RSA_4096', 'RSA_3072'] as const).map((spec) => gate.run(spec, t.op));
    await tick();
    expect(t.peak()).toBe(3);
    await t.releaseAll();
    await Promise.all(all);
  });

  it('with limit 0 caps nothing', async () => {
    const gate = new HeavyOpGate(0);
    const t = tracker();
    const all = Array.from({ length: 5 }, () => gate.run('RSA_4096', t.op));
    await tick();
    expect(t.peak()).toBe(5);
    await t.releaseAll();
    await Promise.all(all);
  });

  it('frees the slot when an operation fails', async () => {
    const gate = new HeavyOpGate(1);
    await expect(gate.run('RSA_4096', () => Promise.reject(new Error('token said no')))).rejects.toThrow('token said no');
    await expect(gate.run('RSA_4096', async () => 'next')).resolves.toBe('next');
  });
});

describe('defaultHeavyLimit', () => {
  it('caps a software token below the core count and leaves any other module uncapped', () => {
    const soft = defaultHeavyLimit('/usr/lib/softhsm/libsofthsm2.so');
    expect(soft).toBeGreaterThanOrEqual(1);
    expect(soft).toBe(Math.max(1, availableParallelism() - 1));
    expect(defaultHeavyLimit('/usr/safenet/lunaclient/lib/libCryptoki2_64.so')).toBe(0);
    expect(defaultHeavyLimit('/opt/nfast/toolkits/pkcs11/libcknfast.so')).toBe(0);
  });
});

describe('defaultSyncMaxBytes (COFFER_HSM_SYNC_MAX_BYTES=auto)', () => {
  const softhsm = '/usr/lib/softhsm/libsofthsm2.so';
  it('makes every request synchronous with a software token when each core runs a serving process', () => {
    expect(defaultSyncMaxBytes(softhsm, 2, 2)).toBe(4096);
    expect(defaultSyncMaxBytes(softhsm, 4, 2)).toBe(4096);
  });

  it('stays asynchronous while a core is free for the pool, and always for other modules', () => {
    expect(defaultSyncMaxBytes(softhsm, 1, 2)).toBe(0);
    expect(defaultSyncMaxBytes(softhsm, 4, 8)).toBe(0);
    expect(defaultSyncMaxBytes('/usr/safenet/lunaclient/lib/libCryptoki2_64.so', 2, 2)).toBe(0);
    expect(defaultSyncMaxBytes('/usr/safenet/lunaclient/lib/libCryptoki2_64.so', 1, 1)).toBe(0);
  });
});
