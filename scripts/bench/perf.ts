// `npm run bench:perf [-- '<phase>']`: where a worker's CPU goes, and where its threads wait, under one bench phase
// (Encrypt by default), seen by Linux perf rather than V8's sampler: every thread (the event loop, libuv's pool running
// the token's async calls, V8's helpers), native frames included (SoftHSM, OpenSSL, node, the kernel), JS frames named
// through --perf-basic-prof-only-functions. Two recordings of BENCH_SECONDS (default 8) each while the load runs:
//   on-CPU:  cpu-clock samples with call graphs: CPU by thread, by shared object, and the top symbols of each thread;
//   off-CPU: sched:sched_switch with call graphs: each time a thread leaves its core, the user-space frame it blocked
//            in (epoll_wait = the event loop idling; a futex under libsofthsm2 = waiting on one of SoftHSM's locks).
// The server runs as it does by default (COFFER_WORKERS=auto; BENCH_WORKERS=n to choose). Written to
// bench/perf-<phase>.txt. Needs perf (linux-perf) and permission to record (root, or perf_event_paranoid ≤ 1).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree } from './cpu-account.js';
import { ADMIN, freshDatabase, REGION, ROOT, runLoadProcess, startCofferServer } from './processes.js';
import { NO_THROTTLE, phases, prepare, signOpsOf, verifyOpsOf } from './run.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_S = 3;
/** BENCH_PERF_POSTGRES=1: record every postgres process (backends, WAL writer, ...) instead of the server's. */
const POSTGRES = process.env.BENCH_PERF_POSTGRES === '1';
/** BENCH_WORKERS=n: COFFER_WORKERS for the server; the server's default (auto) when unset. */
const WORKERS = process.env.BENCH_WORKERS;

function perfRecord(pids: number[], out: string, args: string[]): Promise<void> {
  return new Promise((resolveRecord, reject) => {
    const p = spawn('perf', ['record', '-q', '-g', '-p', pids.join(','), '-o', out, ...args, '--', 'sleep', String(SECONDS)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.once('exit', (code) => (code === 0 ? resolveRecord() : reject(new Error(`perf record exited with ${code}: ${err}`))));
  });
}

interface Sample {
  tid: number;
  thread: string;
  /** Frames, innermost first: [symbol, shared object]. */
  frames: Array<[string, string]>;
}

/** Parses `perf script` output: a header line per sample, then one indented line per frame. */
function samples(data: string, pids: ReadonlySet<number>): Sample[] {
  const text = execFileSync('perf', ['script', '-i', data, '-F', 'comm,tid,event,ip,sym,dso'], { maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out: Sample[] = [];
  let cur: Sample | null = null;
  for (const line of text.split('\n')) {
    if (line === '') {
      if (cur) out.push(cur);
      cur = null;
    } else if (!/^\s/.test(line)) {
      const tid = Number(/^\S+\s+(\d+)/.exec(line.trim())?.[1] ?? -1);
      cur = { tid, thread: '', frames: [] };
    } else if (cur) {
      const m = /^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$/.exec(line);
      if (m) cur.frames.push([cleanSymbol(m[1] ?? '?'), shortDso(m[2] ?? '?')]);
    }
  }
  if (cur) out.push(cur);
  for (const smp of out) smp.thread = threadKind(smp, pids);
  return out;
}

/** Every thread of node is named "node": tell them apart by tid and by the frames at the bottom of their stacks. */
function threadKind(s: Sample, pids: ReadonlySet<number>): string {
  if (POSTGRES) return 'postgres processes';
  if (pids.has(s.tid)) return 'event loops (main threads)';
  const names = s.frames.map(([sym]) => sym).join(' ');
  if (/\bworker\b|uv__work/.test(names)) return 'libuv pool (token async calls)';
  if (/PlatformWorker|WorkerThread|DelayedTaskScheduler/.test(names)) return 'V8 helpers';
  return `other thread (${s.frames.length > 0 ? 'unrecognised stack' : 'no stack'})`;
}
const cleanSymbol = (s: string) => s.replace(/\+0x[0-9a-f]+$/, '').replace(/^(LazyCompile|Function|JS):[*~]?/, '').slice(0, 110);
const shortDso = (d: string) => (d.includes('/') ? (d.split('/').pop() ?? d) : d).replace(/^perf-\d+\.map$/, 'JS');

function table(title: string, m: Map<string, number>, total: number, top = 15): string[] {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [title, ...rows.map(([k, v]) => `  ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`), ''];
}
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

function onCpuReport(data: string, pids: ReadonlySet<number>): string[] {
  const all = samples(data, pids);
  const total = all.length;
  const byThread = new Map<string, number>();
  const byDso = new Map<string, number>();
  const byThreadDso = new Map<string, Map<string, number>>();
  const bySym = new Map<string, Map<string, number>>();
  for (const s of all) {
    const [sym, dso] = s.frames[0] ?? ['?', '?'];
    add(byThread, s.thread, 1);
    add(byDso, dso, 1);
    if (!byThreadDso.has(s.thread)) byThreadDso.set(s.thread, new Map());
    add(byThreadDso.get(s.thread) as Map<string, number>, dso, 1);
    if (!bySym.has(s.thread)) bySym.set(s.thread, new Map());
    add(bySym.get(s.thread) as Map<string, number>, `${sym} (${dso})`, 1);
  }
  const out = [`On-CPU: ${total} samples at 999 Hz over ${SECONDS} s (${(total / 999 / SECONDS).toFixed(2)} cores busy in the server's processes)`, ''];
  out.push(...table('CPU by thread:', byThread, total));
  out.push(...table('CPU by shared object (innermost frame):', byDso, total));
  for (const [thread, n] of [...byThread].sort((a, b) => b[1] - a[1]).slice(0, 3)) {
    out.push(...table(`${thread}: by shared object (% of the whole process)`, byThreadDso.get(thread) as Map<string, number>, total, 8));
    out.push(...table(`${thread}: top symbols (% of the whole process; the thread has ${((n / total) * 100).toFixed(1)}%)`, bySym.get(thread) as Map<string, number>, total, 20));
  }
  return out;
}

/** Where a frame belongs: one of our modules (dist/<dir>/<file>), a package, node's own JS, or native. */
function component(sym: string, dso: string): string | null {
  if (dso !== 'JS') return null;
  const ours = /\/dist\/([a-z-]+\/[^:]+?)\.js:/.exec(sym);
  if (ours) return `ours: ${ours[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(sym);
  if (pkg) return `package: ${pkg[1]}`;
  const internal = /node:(?:internal\/)?([a-z_]+)/.exec(sym);
  return internal ? `node: ${internal[1]}` : null;
}

/**
 * Inclusive CPU of the event loops: each sample counts once for every distinct JS function (and module) on its stack,
 * so a function's share holds what it called, native code included. Stacks come from frame pointers, which V8's JIT
 * code keeps; a stack broken by a native frame without them counts for its inner part only.
 */
function inclusiveReport(data: string, pids: ReadonlySet<number>): string[] {
  const loops = samples(data, pids).filter((s) => s.thread === 'event loops (main threads)');
  const byFunction = new Map<string, number>();
  const byComponent = new Map<string, number>();
  for (const s of loops) {
    const fns = new Set<string>();
    const comps = new Set<string>();
    for (const [sym, dso] of s.frames) {
      const c = component(sym, dso);
      if (!c) continue;
      comps.add(c);
      fns.add(sym.replace(/file:\/\/\/[^ ]*?\/(dist|node_modules)\//, '$1/'));
    }
    for (const f of fns) add(byFunction, f, 1);
    for (const c of comps) add(byComponent, c, 1);
  }
  return [
    `Event loops, inclusive (% of the event loops' ${loops.length} samples; a sample counts once for each function or module on its stack):`,
    '',
    ...table('by module:', byComponent, loops.length, 30),
    ...table('by function:', byFunction, loops.length, 60),
  ];
}

/** The libc call a thread blocked in, and the two program frames above it: where in the program it waited. */
function blockedIn(s: Sample): string {
  const user = s.frames.filter(([, dso]) => !/kernel|vmlinux|libc|libpthread|ld-linux/.test(dso)).slice(0, 2);
  const sys = s.frames.find(([, dso]) => /libc|libpthread/.test(dso));
  return [sys?.[0] ?? '(kernel)', ...user.map(([sym, dso]) => `${sym} (${dso})`)].join(' ← ');
}

function offCpuReport(data: string, pids: ReadonlySet<number>): string[] {
  const all = samples(data, pids);
  const byThread = new Map<string, number>();
  const where = new Map<string, Map<string, number>>();
  for (const s of all) {
    add(byThread, s.thread, 1);
    if (!where.has(s.thread)) where.set(s.thread, new Map());
    add(where.get(s.thread) as Map<string, number>, blockedIn(s), 1);
  }
  const out = [`Off-CPU: ${all.length} context switches out over ${SECONDS} s`, ''];
  out.push(...table('Switches out by thread:', byThread, all.length));
  for (const [thread, n] of [...byThread].sort((a, b) => b[1] - a[1]).slice(0, 3)) {
    out.push(`${thread}: ${n} switches out (${(n / SECONDS).toFixed(0)}/s), where it blocked (% of the thread's switches):`);
    out.push(...table('', where.get(thread) as Map<string, number>, n, 12).slice(1));
  }
  return out;
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'Encrypt';
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const dir = mkdtempSync(join(tmpdir(), 'coffer-perf-'));
  const db = await freshDatabase();
  let pids: Set<number>;
  try {
    const server = await startCofferServer({ databaseUrl: db.url, nodeArgs: ['--perf-basic-prof-only-functions'], env: { ...NO_THROTTLE, ...(WORKERS ? { COFFER_WORKERS: WORKERS } : {}) } });
    let result;
    try {
      const phase = phases(await prepare(server.url, signOpsOf([name]), verifyOpsOf([name]))).find((p) => p.name === name && p.server === 'coffer');
      if (!phase) throw new Error(`no bench phase named ${name}`);
      const load = runLoadProcess({ url: server.url, target: phase.target, bodies: phase.bodies, credentials: { ...ADMIN, region: REGION }, connections: 64, warmupMs: 2000, durationMs: (WARMUP_S + 2 * SECONDS + 2) * 1000 });
      await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
      // The supervisor and every worker (COFFER_WORKERS=auto forks one per core): each one's main thread is its event loop.
      pids = new Set(processTree(server.child.pid as number));
      if (POSTGRES) pids = new Set(execFileSync('pgrep', ['-x', 'postgres'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number));
      await perfRecord([...pids], join(dir, 'oncpu.data'), ['-F', '999']);
      await perfRecord([...pids], join(dir, 'offcpu.data'), ['-e', 'sched:sched_switch', '--call-graph', 'dwarf,16384']);
      result = await load;
    } finally {
      await server.stop();
    }
    const report = [...onCpuReport(join(dir, 'oncpu.data'), pids), ...inclusiveReport(join(dir, 'oncpu.data'), pids), ...offCpuReport(join(dir, 'offcpu.data'), pids)];
    const text = [
      `${name} under load, ${POSTGRES ? `recording Postgres's ${pids.size} processes` : pids.size > 1 ? `supervisor + ${pids.size - 1} workers` : 'one process'} (${result.rps} req/s, p99 ${result.p99Ms} ms, ${result.errors} errors, ${db.kind}), perf, ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      '',
      ...report,
    ].join('\n');
    writeFileSync(join(ROOT, 'bench', `perf-${slug}${POSTGRES ? '-postgres' : ''}.txt`), text);
    process.stdout.write(text);
    process.stderr.write(`[bench] perf data: ${dir}\n`);
  } finally {
    await db.drop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
