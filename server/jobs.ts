// Background jobs on a timer, safe with several instances: a job either claims its work items with SKIP LOCKED
// (key deletion) or takes a cluster-wide advisory lock for its whole run (`exclusive`), so each item is done once.
// One run at a time per process; stop() waits for the current run.
import type { ServiceDeps } from '../core/services/context.js';
import { deleteDueKeys } from '../core/services/deletion-job.js';
import { rewrapDomainKeys, rotateDueDomainKey } from '../core/services/domain-keys.js';
import type { DomainKeys } from '../core/ports.js';
import { destroySpentWrappingKeys, expireImportedMaterial } from '../core/services/import-material.js';
import { rotateDueKeys } from '../core/services/rotation.js';
import { describeError, type Logger } from './log.js';

export interface Job {
  readonly name: string;
  /** Runs now (tests, shutdown) and resolves when that run ends. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Cluster-wide exclusion (DrizzleUnitOfWork.tryExclusive): fn runs only when no other instance holds `name`. */
export interface JobLock {
  tryExclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}

export interface JobSpec {
  name: string;
  intervalMs: number;
  /** Does the due work; returns how many items it handled (logged when > 0). */
  run(): Promise<number>;
  /** When set, each run holds the job's cluster-wide lock; a run that finds it held is skipped. */
  exclusive?: JobLock;
  /** Counts runs and handled items, for metrics and tests. */
  onRun?(outcome: { ran: boolean; handled: number; failed: boolean }): void;
}

export function startJob(spec: JobSpec, log: Logger): Job {
  let current: Promise<void> = Promise.resolve();
  let running = false;
  let stopped = false;
  const once = async (): Promise<void> => {
    const outcome = spec.exclusive ? await spec.exclusive.tryExclusive(spec.name, spec.run) : { ran: true as const, value: await spec.run() };
    const handled = outcome.ran ? outcome.value : 0;
    if (handled > 0) log.info('background job handled items', { job: spec.name, count: handled });
    spec.onRun?.({ ran: outcome.ran, handled, failed: false });
  };
  const run = (): Promise<void> => {
    if (running || stopped) return current;
    running = true;
    current = once()
      .catch((e) => {
        spec.onRun?.({ ran: true, handled: 0, failed: true });
        log.warn('background job failed; it will run again', { job: spec.name, error: describeError(e) });
      })
      .finally(() => {
        running = false;
      });
    return current;
  };
  const timer = setInterval(() => void run(), spec.intervalMs);
  timer.unref();
  return {
    name: spec.name,
    runNow: run,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}

/** Key deletion after the waiting period: each due key is claimed with SKIP LOCKED, so instances share the work. */
export function startDeletionJob(deps: ServiceDeps, intervalMs: number, log: Logger, onRun?: JobSpec['onRun']): Job {
  return startJob({ name: 'key-deletion', intervalMs, run: () => deleteDueKeys(deps), ...(onRun ? { onRun } : {}) }, log);
}

/**
 * Automatic rotation, expiry of imported material and destruction of spent import wrapping keys: each item is claimed
 * with SKIP LOCKED, so done once.
 */
export function startRotationJob(deps: ServiceDeps, intervalMs: number, log: Logger, onRun?: JobSpec['onRun']): Job {
  const run = async () => (await rotateDueKeys(deps)) + (await expireImportedMaterial(deps)) + (await destroySpentWrappingKeys(deps));
  return startJob({ name: 'key-rotation', intervalMs, run, ...(onRun ? { onRun } : {}) }, log);
}

/** Blobs one run of the rewrap job handles at most (about a second of token work; the next run goes on). */
export const REWRAP_PER_RUN = 2000;

/**
 * Rotates the domain key when it is `rotationDays` old (0: never by itself), and after any rotation rewraps the blobs
 * under retired domain keys under the active one, in one instance at a time. Blobs it cannot unwrap are left, and
 * reported at every run until someone looks (DescribeDomainKeys).
 */
export function startRewrapJob(deps: ServiceDeps, dk: DomainKeys, rotationDays: number, intervalMs: number, lock: JobLock, log: Logger): Job {
  const run = async () => {
    if (await rotateDueDomainKey(deps, dk, rotationDays)) log.info('domain key rotated', { job: 'domain-key-rewrap', rotationDays });
    const { rewrapped, failed } = await rewrapDomainKeys(dk, REWRAP_PER_RUN);
    if (failed > 0) log.warn('key versions left under a retired or missing domain key: their material could not be unwrapped', { count: failed });
    return rewrapped;
  };
  return startJob({ name: 'domain-key-rewrap', intervalMs, run, exclusive: lock }, log);
}
