// COFFER_WORKERS > 1: this process becomes a supervisor that forks that many workers (node:cluster), each a whole
// server on the shared port with its own token sessions (its own C_Initialize), database pool, audit batcher and
// caches: exactly like separate instances on one database and token, so what holds between instances (the audit
// chain's head lock, job locks, cache invalidation by NOTIFY within COFFER_METADATA_CACHE_MS) holds between workers.
import cluster, { type Worker } from 'node:cluster';
import { superviseMetrics } from './cluster-metrics.js';
import type { Logger } from './log.js';

/** The first worker creates the development token and migrates the database; the others start once it listens. */
export async function superviseWorkers(count: number, shutdownTimeoutMs: number, log: Logger): Promise<void> {
  let stopping = false;
  let started = false;
  const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  superviseMetrics(workers);
  /** Workers that have listened; one stopped before it did served nothing, so the signal ending it loses nothing. */
  const listened = new WeakSet<Worker>();
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once('listening', () => listened.add(worker));
    worker.on('exit', (code, signal) => {
      if (stopping || !started) return;
      log.error('worker exited; starting another in 1 s', { pid: worker.process.pid, code, signal });
      setTimeout(() => stopping || fork(), 1_000);
    });
    return worker;
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down workers', { signal, workers: workers().length });
    // Each worker drains within the shutdown timeout itself; this bound is a backstop.
    setTimeout(() => process.exit(1), shutdownTimeoutMs + 5_000).unref();
    let worst = 0;
    const running = workers();
    let left = running.length;
    if (left === 0) process.exit(0);
    for (const w of running) {
      w.once('exit', (code, exitSignal) => {
        // Before it installs its handlers (node's start, loading modules) a worker dies of the signal itself.
        const stoppedBeforeListening = code === null && exitSignal === signal && !listened.has(w);
        worst = Math.max(worst, stoppedBeforeListening ? 0 : (code ?? 1));
        if (--left === 0) process.exit(worst);
      });
      w.process.kill(signal);
    }
  };
  // Signals are handled from the start: a stop while the first worker starts reaches it (it finishes starting, then
  // drains) instead of killing the supervisor and orphaning it.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info('starting workers', { workers: count, pid: process.pid });
  const first = fork();
  const firstUp = await new Promise<boolean>((resolve) => {
    first.once('listening', () => resolve(true));
    first.once('exit', () => resolve(false));
  });
  // Stopped while the first worker started: stop() waits for the workers it signalled; fork no more.
  if (stopping) return;
  if (!firstUp) process.exit(1);
  for (let i = 1; i < count; i++) fork();
  started = true;
  // The bench asks for event-loop statistics with SIGUSR2 (server/bench-stats.ts): each worker answers.
  process.on('SIGUSR2', () => workers().forEach((w) => w.process.kill('SIGUSR2')));
}
