// Benchmark statistics, only when COFFER_BENCH_STATS=1: event-loop delay sampled inside the server, printed as
// one JSON log line (msg "bench-stats") on SIGUSR2 (then reset, so each load phase gets its own) and at shutdown.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from './log.js';

const ms = (ns: number) => Math.round(ns / 1e4) / 100;

function snapshot(h: ReturnType<typeof monitorEventLoopDelay>): Record<string, number> {
  return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20) };
}

/** Starts sampling when enabled; returns the function that logs the final line (a no-op otherwise). */
export function startBenchStats(env: NodeJS.ProcessEnv, log: Logger): () => void {
  if (env.COFFER_BENCH_STATS !== '1') return () => {};
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  process.on('SIGUSR2', () => {
    // Written straight to stderr so the line appears whatever the log level.
    process.stderr.write(JSON.stringify({ msg: 'bench-stats', eventLoopDelay: snapshot(h) }) + '\n');
    h.reset();
  });
  return () => {
    h.disable();
    log.info('bench-stats', { eventLoopDelay: snapshot(h) });
  };
}
