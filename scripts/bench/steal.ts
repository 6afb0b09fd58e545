// Hypervisor steal, per vCPU, while a phase runs: /proc/stat's steal column read every 20 ms by the bench process
// (idle while the load generator, a separate process, drives the server). A run of samples in which one vCPU lost
// its whole sample is a stall: every thread on that vCPU stood still, an event loop included, whatever it was doing.
// On 2026-12-01's VM (2 x AMD EPYC) such stalls of 20-40 ms came a few times a minute, on both vCPUs at once too:
// longer than the event-loop target of issue 7 (20 ms) by themselves.
import { readFileSync } from 'node:fs';

const SAMPLE_MS = 20;
const TICK_MS = 10;

export interface StealReport {
  /** Steal over the phase, all vCPUs, ms. */
  totalMs: number;
  /** Stalls: runs of samples in which a vCPU lost at least SAMPLE_MS to the hypervisor. */
  stalls: number;
  /** The longest stall's steal, ms. */
  longestMs: number;
  /** The first 20 stalls: [ms since the watch started, vCPU, steal ms]; compare with the server's longTurns. */
  at: number[][];
}

function stealTicks(): number[] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d/.test(l))
    .map((l) => Number(l.trim().split(/\s+/)[8] ?? 0));
}

/** Starts sampling; the returned function stops it and reports. Off Linux, reports zeros. */
export function watchSteal(): () => StealReport {
  let prev: number[];
  try {
    prev = stealTicks();
  } catch {
    return () => ({ totalMs: 0, stalls: 0, longestMs: 0, at: [] });
  }
  const running = prev.map(() => 0);
  const report: StealReport = { totalMs: 0, stalls: 0, longestMs: 0, at: [] };
  const started = performance.now();
  const open = prev.map(() => -1);
  const timer = setInterval(() => {
    const cur = stealTicks();
    cur.forEach((t, cpu) => {
      const ms = (t - (prev[cpu] ?? t)) * TICK_MS;
      report.totalMs += ms;
      if (ms >= SAMPLE_MS) {
        if ((running[cpu] ?? 0) === 0) {
          report.stalls += 1;
          open[cpu] = report.at.length < 20 ? report.at.push([Math.round(performance.now() - started - SAMPLE_MS), cpu, 0]) - 1 : -1;
        }
        running[cpu] = (running[cpu] ?? 0) + ms;
        report.longestMs = Math.max(report.longestMs, running[cpu] as number);
        const entry = report.at[open[cpu] ?? -1];
        if (entry) entry[2] = running[cpu] as number;
      } else running[cpu] = 0;
    });
    prev = cur;
  }, SAMPLE_MS);
  return () => {
    clearInterval(timer);
    return report;
  };
}
