// A cap on concurrent private-key operations with large RSA keys. In a software token each RSA_4096 signature is
// ~5 ms of CPU on a libuv pool thread; with as many of them in flight as the pool has threads (4), they take every
// core and the event loop waits for the CPU. Capped at cores - 1, one core stays for the event loop.
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import type { AsymmetricSpec } from '../core/key-spec.js';

/** RSA keys whose private-key operations are slow enough to starve the event loop (RSA_2048 takes ~0.6 ms). */
export function isHeavy(spec: AsymmetricSpec): boolean {
  return spec === 'RSA_3072' || spec === 'RSA_4096';
}

/**
 * cores - 1 (at least 1) for a software token, which signs on this machine's cores; no cap (0) for any other module:
 * a hardware or network HSM signs on its own processors, and the caller only waits.
 */
export function defaultHeavyLimit(modulePath: string): number {
  return isSoftwareToken(modulePath) ? Math.max(1, availableParallelism() - 1) : 0;
}

/** SoftHSM, known by its module's file name (libsofthsm2.so, softhsm2.dll, ...). */
export function isSoftwareToken(modulePath: string): boolean {
  return /softhsm/i.test(basename(modulePath));
}

export class HeavyOpGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /** limit 0 = no cap. */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new TypeError('the heavy-operation limit must be a non-negative integer');
  }

  /** Runs fn at once for a light spec, or when under the cap; else after the earlier heavy operations (FIFO). */
  async run<T>(spec: AsymmetricSpec, fn: () => Promise<T>): Promise<T> {
    if (this.limit === 0 || !isHeavy(spec)) return fn();
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running += 1;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so running stays counted.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
