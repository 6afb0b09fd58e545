// Per-account request-rate quotas per operation class, as AWS KMS has them: one token bucket per (account, class)
// holding one second's worth of requests; beyond it ThrottlingException (HTTP 400). Counted for metrics.
import { KmsError } from '../core/errors.js';

export type QuotaClass = 'symmetric' | 'generate-random' | 'asymmetric' | 'management';

/** Requests per second per account; 0 means no quota. */
export interface QuotaConfig {
  /** AWS's shared "Cryptographic operations (symmetric)" quota: 5,500/s by default. */
  symmetric: number;
  /** GenerateRandom shares the symmetric quota, as in AWS, unless given its own (null). */
  generateRandom: number | null;
  /** Sign, Verify and data key pairs (AWS: 500/s for RSA, 300/s for ECC; one class here). */
  asymmetric: number;
  /** Every other operation, shared (AWS has per-operation quotas from 5 to 2,000/s). */
  management: number;
}

export const DEFAULT_QUOTAS: QuotaConfig = { symmetric: 5500, generateRandom: null, asymmetric: 500, management: 1000 };

/** AWS KMS's wording (Service: AWSKMS; Status Code: 400; Error Code: ThrottlingException). */
export const THROTTLING_MESSAGE = 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';

const SYMMETRIC = new Set(['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'VerifyMac']);
const ASYMMETRIC = new Set(['Sign', 'Verify', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'DeriveSharedSecret']);

export function quotaClassOf(operation: string, config: QuotaConfig): QuotaClass {
  if (SYMMETRIC.has(operation)) return 'symmetric';
  if (operation === 'GenerateRandom') return config.generateRandom === null ? 'symmetric' : 'generate-random';
  if (ASYMMETRIC.has(operation)) return 'asymmetric';
  return 'management';
}

/**
 * The part of each quota one of `workers` server processes admits (COFFER_WORKERS): each worker keeps its own
 * buckets, so each takes 1/workers of every rate and the shares add up to the configured quota. node:cluster deals
 * connections to the workers in turn, so a caller spreading requests over several connections (the SDKs keep a pool)
 * gets its whole quota; requests on one single connection all reach one worker and get that worker's share.
 */
export function quotaShare(config: QuotaConfig, workers: number): QuotaConfig {
  if (workers <= 1) return config;
  const share = (rate: number) => rate / workers;
  return {
    symmetric: share(config.symmetric),
    generateRandom: config.generateRandom === null ? null : share(config.generateRandom),
    asymmetric: share(config.asymmetric),
    management: share(config.management),
  };
}

function rateOf(cls: QuotaClass, config: QuotaConfig): number {
  if (cls === 'generate-random') return config.generateRandom ?? config.symmetric;
  return config[cls];
}

interface Bucket {
  tokens: number;
  at: number;
}

const counters = new Map<QuotaClass, { allowed: number; throttled: number }>();

function count(cls: QuotaClass, throttled: boolean): void {
  let c = counters.get(cls);
  if (!c) counters.set(cls, (c = { allowed: 0, throttled: 0 }));
  if (throttled) c.throttled += 1;
  else c.allowed += 1;
}

/** Requests let through and throttled per class since the process started, for /metrics. */
export function quotaCounters(): Array<{ class: QuotaClass; allowed: number; throttled: number }> {
  return [...counters].map(([cls, c]) => ({ class: cls, ...c }));
}

export class QuotaLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly config: QuotaConfig = DEFAULT_QUOTAS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one request from the caller's account's bucket for the operation's class; throws ThrottlingException when empty. */
  check(accountId: string, operation: string): void {
    const cls = quotaClassOf(operation, this.config);
    const rate = rateOf(cls, this.config);
    if (rate <= 0) return count(cls, false);
    const key = `${accountId}/${cls}`;
    const now = this.now();
    const capacity = Math.max(1, rate);
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: capacity, at: now }));
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    if (b.tokens < 1) {
      count(cls, true);
      throw new KmsError('ThrottlingException', THROTTLING_MESSAGE);
    }
    b.tokens -= 1;
    count(cls, false);
  }
}
