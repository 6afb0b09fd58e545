// Background jobs on a timer: key deletion after the waiting period. Safe with several instances
// (each key is claimed with SKIP LOCKED); one run at a time per process.
import type { ServiceDeps } from '../core/services/context.js';
import { deleteDueKeys } from '../core/services/deletion-job.js';
import { describeError, type Logger } from './log.js';

export interface Job {
  /** Runs now (tests, shutdown) and resolves when that run ends. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startDeletionJob(deps: ServiceDeps, intervalMs: number, log: Logger): Job {
  let current: Promise<void> = Promise.resolve();
  let running = false;
  const run = (): Promise<void> => {
    if (running) return current;
    running = true;
    current = deleteDueKeys(deps)
      .then((n) => {
        if (n > 0) log.info('deleted keys whose waiting period ended', { count: n });
      })
      .catch((e) => log.warn('key deletion job failed; it will run again', { error: describeError(e) }))
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
