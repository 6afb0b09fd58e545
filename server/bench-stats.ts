// Benchmark statistics, only when COFFER_BENCH_STATS=1: event-loop delay sampled inside the server, printed as
// one JSON log line (msg "bench-stats") on SIGUSR2 (then reset, so each load phase gets its own) and at shutdown.
//
// monitorEventLoopDelay records the whole interval between two firings of its timer, the sampling interval
// included: with a 10 ms resolution an idle loop reads p50 10.2 ms and a single 15 ms block reads 24.9 ms (measured
// on node 20). Sampled every millisecond, a reading is the longest turn plus at most 1 ms, so that is used here;
// tables before 2026-11-30 12:00 were sampled every 10 ms and overstate the delay by up to 10 ms.
import { openSync, readSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Logger } from './log.js';

/** The sampling interval: readings are a turn's length plus up to this much. */
const RESOLUTION_MS = 1;

const ms = (ns: number) => Math.round(ns / 1e4) / 100;

/** Garbage-collection pauses since the last snapshot: a long loop turn is often one of them. */
const gc = { count: 0, totalMs: 0, maxMs: 0, maxKind: 0, since: performance.now(), long: [] as number[][] };

/**
 * Turns over 10 ms since the last snapshot, [ms since it, length ms, ms on a CPU, ms waiting for one], seen by a 1-ms
 * timer's lateness: when they came, and (Linux) whether the main thread ran or sat in the run queue meanwhile.
 */
const turns = { last: performance.now(), long: [] as number[][] };

/** The main thread's ns on a CPU and waiting for one (/proc/thread-self/schedstat), or null without /proc. */
function schedstatReader(): (() => [number, number]) | null {
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r'); // resolved now, on the main thread
  } catch {
    return null;
  }
  const buf = Buffer.alloc(64);
  return () => {
    try {
      const [run, wait] = buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)).split(' ').map(Number);
      return [run ?? 0, wait ?? 0];
    } catch {
      return [0, 0]; // statistics only: never a reason to stop the server
    }
  };
}

/** How many long turns or pauses a phase keeps at most (a turn over 10 ms comes at most 100 times a second). */
const KEEP = 10_000;
/** How many of them a snapshot lists: the longest, in the order they came. */
const LIST = 20;

/**
 * The LIST longest of `items` ([ms since the snapshot, length ms, ...]), in time order. Before the tenth session the
 * first 20 were kept, which under load were all in a phase's first 2 s of warm-up, so the histogram's max (a later
 * turn) was missing from the list and the two disagreed.
 */
function longest(items: number[][]): number[][] {
  return [...items].sort((a, b) => (b[1] as number) - (a[1] as number)).slice(0, LIST).sort((a, b) => (a[0] as number) - (b[0] as number));
}

function snapshot(h: ReturnType<typeof monitorEventLoopDelay>): Record<string, number | number[][]> {
  const out = {
    p50Ms: ms(h.percentile(50)),
    p99Ms: ms(h.percentile(99)),
    maxMs: ms(h.max),
    resolutionMs: RESOLUTION_MS,
    rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
    gcPauses: gc.count,
    gcTotalMs: Math.round(gc.totalMs),
    gcMaxMs: Math.round(gc.maxMs * 100) / 100,
    /** perf_hooks' NODE_PERFORMANCE_GC_* of the longest: 1 minor, 2 major, 4 incremental, 8 weak callbacks. */
    gcMaxKind: gc.maxKind,
    /** Pauses over 10 ms (the LIST longest): [ms since the last snapshot, duration ms, kind]. */
    gcLong: longest(gc.long),
    gcLongCount: gc.long.length,
    /** Turns over 10 ms (the LIST longest): [ms since the last snapshot, length ms, ms it ran, ms it waited for a CPU]. */
    longTurns: longest(turns.long),
    longTurnCount: turns.long.length,
  };
  Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0, maxKind: 0, since: performance.now(), long: [] });
  turns.long = [];
  return out;
}

/** Starts sampling when enabled; returns the function that logs the final line (a no-op otherwise). */
export function startBenchStats(env: NodeJS.ProcessEnv, log: Logger): () => void {
  if (env.COFFER_BENCH_STATS !== '1') return () => {};
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const sched = schedstatReader();
  let [ran, waited] = sched?.() ?? [0, 0];
  setInterval(() => {
    const now = performance.now();
    const late = now - turns.last - RESOLUTION_MS;
    const [run, wait] = sched?.() ?? [0, 0];
    if (late > 10 && turns.long.length < KEEP) {
      turns.long.push([Math.round(turns.last - gc.since), Math.round(late), Math.round((run - ran) / 1e6), Math.round((wait - waited) / 1e6)]);
    }
    [ran, waited] = [run, wait];
    turns.last = now;
  }, RESOLUTION_MS).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
      gc.count += 1;
      gc.totalMs += e.duration;
      if (e.duration > 10 && gc.long.length < KEEP) gc.long.push([Math.round(e.startTime - gc.since), Math.round(e.duration), kind]);
      if (e.duration > gc.maxMs) {
        gc.maxMs = e.duration;
        gc.maxKind = kind;
      }
    }
  }).observe({ entryTypes: ['gc'] });
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
