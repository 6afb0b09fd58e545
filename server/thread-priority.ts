// The event loop ahead of the helper threads: on Linux every thread of this process but the main one (libuv's pool,
// which runs the token's *Async calls such as RSA signing, and V8's helpers) gets a lower scheduling priority, so
// that when both cores are busy the kernel runs the event loop first instead of letting it wait its turn behind an
// RSA signature. setpriority(2) on a thread id changes that thread alone; lowering needs no privilege.
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Nice value given to the helper threads (0 = the main thread's; 19 = the lowest). */
export const HELPER_NICE = 5;

/** Lowers every thread but the main one; returns how many it lowered (0 where /proc is absent). */
export function lowerHelperThreads(nice = HELPER_NICE): number {
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
