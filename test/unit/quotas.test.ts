// Unit: the token buckets behind request-rate quotas, on a fake clock.
import { describe, expect, it } from 'vitest';
import { isKmsError } from '../../core/errors.js';
import { DEFAULT_QUOTAS, QuotaLimiter, quotaClassOf, quotaCounters, quotaShare, THROTTLING_MESSAGE } from '../../server/quotas.js';

function limiter(overrides: Partial<typeof DEFAULT_QUOTAS> = {}) {
  let t = 0;
  const l = new QuotaLimiter({ ...DEFAULT_QUOTAS, ...overrides }, () => t);
  return { l, advance: (ms: number) => (t += ms) };
}

function passes(l: QuotaLimiter, account: string, op: string, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    try {
      l.check(account, op);
      ok += 1;
    } catch (e) {
      if (!isKmsError(e) || e.code !== 'ThrottlingException' || e.message !== THROTTLING_MESSAGE) throw e;
    }
  }
  return ok;
}

describe('QuotaLimiter', () => {
  it('lets one second of requests through at once, then refills at the rate', () => {
    const { l, advance } = limiter({ symmetric: 10 });
    expect(passes(l, 'a', 'Encrypt', 25)).toBe(10);
    advance(500);
    expect(passes(l, 'a', 'Decrypt', 25)).toBe(5);
    advance(10_000);
    expect(passes(l, 'a', 'GenerateDataKey', 25)).toBe(10);
  });

  it('splits every quota evenly between worker processes, so their shares add up to it; 0 (no quota) and a shared GenerateRandom stay so', () => {
    expect(quotaShare(DEFAULT_QUOTAS, 1)).toEqual(DEFAULT_QUOTAS);
    expect(quotaShare({ symmetric: 5500, generateRandom: null, asymmetric: 0, management: 1000 }, 4)).toEqual({ symmetric: 1375, generateRandom: null, asymmetric: 0, management: 250 });
    expect(quotaShare({ ...DEFAULT_QUOTAS, generateRandom: 30 }, 3).generateRandom).toBe(10);
    let t = 0;
    const workers = [0, 1].map(() => new QuotaLimiter(quotaShare({ ...DEFAULT_QUOTAS, symmetric: 10 }, 2), () => t));
    expect(workers.map((w) => passes(w, 'a', 'Encrypt', 25))).toEqual([5, 5]);
    t += 1000;
    expect(workers.map((w) => passes(w, 'a', 'Encrypt', 25))).toEqual([5, 5]);
  });

  it('keeps accounts and classes apart', () => {
    const { l } = limiter({ symmetric: 3, management: 2 });
    expect(passes(l, 'a', 'Encrypt', 5)).toBe(3);
    expect(passes(l, 'b', 'Encrypt', 5)).toBe(3);
    expect(passes(l, 'a', 'DescribeKey', 5)).toBe(2);
  });

  it('shares the symmetric quota with GenerateRandom unless it has its own, as AWS does', () => {
    expect(quotaClassOf('GenerateRandom', DEFAULT_QUOTAS)).toBe('symmetric');
    const shared = limiter({ symmetric: 4 }).l;
    expect(passes(shared, 'a', 'Encrypt', 4)).toBe(4);
    expect(passes(shared, 'a', 'GenerateRandom', 4)).toBe(0);
    const own = limiter({ symmetric: 4, generateRandom: 2 }).l;
    expect(passes(own, 'a', 'Encrypt', 4)).toBe(4);
    expect(passes(own, 'a', 'GenerateRandom', 4)).toBe(2);
  });

  it('classes Sign and Verify as asymmetric and anything unknown as management', () => {
    expect(quotaClassOf('Sign', DEFAULT_QUOTAS)).toBe('asymmetric');
    expect(quotaClassOf('ReEncrypt', DEFAULT_QUOTAS)).toBe('symmetric');
    expect(quotaClassOf('CreateUser', DEFAULT_QUOTAS)).toBe('management');
  });

  it('treats 0 as no quota', () => {
    const { l } = limiter({ symmetric: 0 });
    expect(passes(l, 'a', 'Encrypt', 10_000)).toBe(10_000);
  });

  it('counts throttled requests per class', () => {
    const before = quotaCounters().find((c) => c.class === 'asymmetric')?.throttled ?? 0;
    const { l } = limiter({ asymmetric: 1 });
    passes(l, 'a', 'Sign', 3);
    expect(quotaCounters().find((c) => c.class === 'asymmetric')?.throttled).toBe(before + 2);
  });
});
