// Background jobs on a timer: key deletion after the waiting period, automatic key rotation. Safe with several
// instances (each key is claimed with SKIP LOCKED); one run at a time per process.
import type { ServiceDeps } from '../core/services/context.js';
import { deleteDueKeys } from '../core/services/deletion-job.js';
import { rotateDueKeys } from '../core/services/rotation.js';
import { expireImportedMaterial } from '../core/services/import-material.js';
import { describeError, type Logger } from './log.js';

export interface Job {
  /** Runs now (tests, shutdown) and resolves when that run ends. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startDeletionJob(deps: ServiceDeps, intervalMs: number, log: Logger): Job {
  return startJob(() => deleteDueKeys(deps), intervalMs, log, 'deleted keys whose waiting period ended', 'key deletion job failed; it will run again');
}

export function startRotationJob(deps: ServiceDeps, intervalMs: number, log: Logger): Job {
  const work = async () => (await rotateDueKeys(deps)) + (await expireImportedMaterial(deps));
  return startJob(work, intervalMs, log, 'rotated keys or expired imported key material', 'key rotation or material expiry job failed; it will run again');
}

function startJob(work: () => Promise<number>, intervalMs: number, log: Logger, done: string, failed: string): Job {
  let current: Promise<void> = Promise.resolve();
  let running = false;
  const run = (): Promise<void> => {
    if (running) return current;
    running = true;
    current = work()
      .then((n) => {
        if (n > 0) log.info(done, { count: n });
      })
      .catch((e) => log.warn(failed, { error: describeError(e) }))
      .finally(() => {
        running = false;
      });
    return current;
  };
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    runNow: run,
    stop: async () => {
      clearInterval(timer);
      await current;
    },
  };
}
