// The event loop ahead of the helper threads: on Linux every thread of this process but the main one (libuv's pool,
// which runs the token's *Async calls such as RSA signing, and V8's helpers) gets a lower scheduling priority, so
// that when both cores are busy the kernel runs the event loop first instead of letting it wait its turn behind an
// RSA signature. setpriority(2) on a thread id changes that thread alone; lowering needs no privilege.
import { randomFill } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Starts libuv's thread pool unless something already has (its first task creates every pool thread), so that the
 * pool's threads exist to be lowered. Node 20's module loader happens to start it; Node 22's does not, and the
 * token's self-test calls are synchronous: lowering found no pool thread on Node 22 unless a fresh token's key
 * generation (an asynchronous call) had run first.
 */
export function startThreadPool(): Promise<void> {
  return new Promise((resolve) => randomFill(Buffer.alloc(1), () => resolve()));
}

/**
 * Lowers every thread but the main one to `nice` (COFFER_HELPER_THREAD_NICE, 5 by default; 19 is the lowest); returns
 * how many it lowered (0 where /proc is absent). Measured on the idle 2-core machine with 2 workers: Encrypt 1.06x and
 * 1.10x (p99 35 -> 26 and 39 -> 33 ms), Decrypt 1.01x, Sign RSA_4096 1.01x (bench/ab-nice-helpers*.txt).
 */
export function lowerHelperThreads(nice: number): number {
  let lowered = 0;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  for (const tid of tids) {
    if (Number(tid) === process.pid) continue;
    try {
      setPriority(Number(tid), nice);
      lowered += 1;
    } catch {
      // gone meanwhile
    }
  }
  return lowered;
}
