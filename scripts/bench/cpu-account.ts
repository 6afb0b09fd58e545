// Whole-machine CPU accounting for one load phase (Linux /proc): the server's process tree, the load generator
// itself, Postgres's backends serving the bench database, Postgres's other processes (background writers and
// other databases' backends: shared with whatever else runs), and the whole machine from /proc/stat.
import { readdirSync, readFileSync } from 'node:fs';

export interface AccountSpec {
  serverPid: number;
  /** The bench database's name: its backends' command lines read `postgres: <user> <db> <addr> ...`. */
  database: string | null;
}

/** CPU milliseconds per group over the measured window, and the machine's busy and total milliseconds. */
export type CpuAccount = Record<'server' | 'serverMainThreads' | 'loadgen' | 'postgresBench' | 'postgresOther' | 'machineBusy' | 'machineTotal' | 'machineSteal', number> & {
  /** Each serving process's event loop (a main thread that ran ≥ 5% of the window): ms it ran, ms it waited for a CPU. */
  loops: { runMs: number; waitMs: number }[];
  windowMs: number;
};

const TICK_MS = 10;

/** User + system clock ticks (1/100 s) of one process, 0 when it is gone. */
export function ticksOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The process and its children (COFFER_WORKERS > 1: the supervisor and its workers). */
export function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children.flatMap(processTree)];
  } catch {
    return [pid];
  }
}

/** Per-pid ticks, so a backend that started or ended inside the window counts only what it spent there. */
function postgresTicks(database: string | null): { bench: Map<number, number>; other: Map<number, number> } {
  const bench = new Map<number, number>();
  const other = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let comm: string;
    let cmdline: string;
    try {
      comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      if (comm !== 'postgres') continue;
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    const pid = Number(name);
    (database && cmdline.includes(` ${database} `) ? bench : other).set(pid, ticksOf(pid));
  }
  return { bench, other };
}

/** /proc/stat's first line; `steal`: time the hypervisor ran someone else's vCPU while ours wanted its core (busy counts it). */
function machine(): { busy: number; total: number; steal: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total, steal: cpu[7] ?? 0 };
}

/** The main threads' own ticks (not their thread pools', JIT's or GC helpers'): /proc/<pid>/task/<pid>/stat. */
function mainThreadTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * A main thread's scheduler statistics (/proc/<pid>/task/<pid>/schedstat): ns on a CPU, ns runnable but waiting for
 * one (the run queue), timeslices. A loop turn the load generator sees as long may be a turn that waited there.
 */
function mainThreadSchedstat(pid: number): { runNs: number; waitNs: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { runNs: run ?? 0, waitNs: wait ?? 0 };
  } catch {
    return { runNs: 0, waitNs: 0 };
  }
}

export interface Snapshot {
  server: number;
  serverMain: number;
  serverSched: Map<number, { runNs: number; waitNs: number }>;
  wallMs: number;
  loadgenMs: number;
  pg: ReturnType<typeof postgresTicks>;
  machine: ReturnType<typeof machine>;
}

export function snapshot(spec: AccountSpec): Snapshot {
  const u = process.cpuUsage();
  return {
    server: processTree(spec.serverPid).reduce((a, p) => a + ticksOf(p), 0),
    serverMain: processTree(spec.serverPid).reduce((a, p) => a + mainThreadTicks(p), 0),
    serverSched: new Map(processTree(spec.serverPid).map((p) => [p, mainThreadSchedstat(p)])),
    wallMs: performance.now(),
    loadgenMs: (u.user + u.system) / 1000,
    pg: postgresTicks(spec.database),
    machine: machine(),
  };
}

function mapDelta(a: Map<number, number>, b: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of b) sum += t - (a.get(pid) ?? 0);
  return sum;
}

export function account(a: Snapshot, b: Snapshot): CpuAccount {
  const windowMs = b.wallMs - a.wallMs;
  const loops = [...b.serverSched].flatMap(([pid, after]) => {
    const before = a.serverSched.get(pid) ?? { runNs: 0, waitNs: 0 };
    const runMs = (after.runNs - before.runNs) / 1e6;
    return runMs >= windowMs * 0.05 ? [{ runMs, waitMs: (after.waitNs - before.waitNs) / 1e6 }] : [];
  });
  return {
    loops,
    windowMs,
    server: (b.server - a.server) * TICK_MS,
    serverMainThreads: (b.serverMain - a.serverMain) * TICK_MS,
    loadgen: b.loadgenMs - a.loadgenMs,
    postgresBench: mapDelta(a.pg.bench, b.pg.bench) * TICK_MS,
    postgresOther: mapDelta(a.pg.other, b.pg.other) * TICK_MS,
    machineBusy: (b.machine.busy - a.machine.busy) * TICK_MS,
    machineTotal: (b.machine.total - a.machine.total) * TICK_MS,
    machineSteal: (b.machine.steal - a.machine.steal) * TICK_MS,
  };
}

/** One line: ms of CPU per request for each group, and the machine's use of its cores. */
export function describeAccount(c: CpuAccount, requests: number): string {
  const per = (ms: number) => (ms / requests).toFixed(3);
  const ours = c.server + c.loadgen + c.postgresBench + c.postgresOther;
  return (
    `CPU ms/req: server ${per(c.server)} (main thread ${per(c.serverMainThreads)}), loadgen ${per(c.loadgen)}, postgres (bench db) ${per(c.postgresBench)}, ` +
    `postgres (background + other dbs) ${per(c.postgresOther)}, sum ${per(ours)}; machine busy ${per(c.machineBusy)} ` +
    `(${((c.machineBusy / c.machineTotal) * 100).toFixed(0)}% of all cores; not ours: ${per(c.machineBusy - ours)}, of which stolen by the hypervisor ${per(c.machineSteal)})` +
    ((c.loops ?? []).length > 0 ? `; event loops ran ${loopShare(c, 'runMs')} and waited for a CPU ${loopShare(c, 'waitMs')} of the window` : '')
  );
}

/** Each event loop's share of the window, e.g. "54%/55%". */
function loopShare(c: CpuAccount, field: 'runMs' | 'waitMs'): string {
  return c.loops.map((l) => `${((l[field] / c.windowMs) * 100).toFixed(0)}%`).join('/');
}
