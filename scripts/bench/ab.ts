// `npm run bench:ab -- 'ENV=a' 'ENV=b' [Encrypt,Decrypt]`: two servers differing only in their environment,
// measured in alternating rounds in one run (A B A B ...), so contention on the machine hits both alike.
// A variant starting `@<git ref>` (e.g. '@main' or '@HEAD~1,ENV=a') runs the server from that commit's tree
// (git archive into a temporary directory sharing this node_modules) instead of the working tree.
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAccount } from './cpu-account.js';
import { ADMIN, type Child, ROOT, cpuTicks, freshDatabase, REGION, runLoadProcess, startCofferServer } from './processes.js';
import { loopStats, NO_THROTTLE, phases, prepare, signOpsOf, verifyOpsOf, type Prepared } from './run.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_CONNECTIONS (64): e.g. 1 for the latency of a lone client. */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);

/** The commit's source tree in a temporary directory, with this checkout's node_modules. */
function treeOf(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-ab-tree-'));
  execSync(`git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(dir)}`, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function refOf(spec: string): string | null {
  return spec.startsWith('@') ? (spec.slice(1).split(',')[0] as string) : null;
}

function envOf(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of spec.split(',').filter((p) => p && !p.startsWith('@'))) {
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const [a = '', b = '', ops = 'Encrypt'] = process.argv.slice(2);
  const variants = [a, b];
  const dbs = await Promise.all(variants.map(() => freshDatabase()));
  const trees = variants.map((v) => refOf(v)).map((ref) => (ref ? treeOf(ref) : undefined));
  const started = await Promise.allSettled(variants.map((v, i) => startCofferServer({ databaseUrl: dbs[i]?.url, env: { ...NO_THROTTLE, ...envOf(v) }, root: trees[i] })));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // One variant would not start (a bad flag, say): the other is stopped too, not left serving behind the error.
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    await Promise.all(dbs.map((d) => d.drop()));
    for (const t of trees) if (t) rmSync(t, { recursive: true, force: true });
    throw failed.reason;
  }
  const servers = started.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof startCofferServer>>>).value);
  try {
    const prepared = await Promise.all(servers.map((s) => prepare(s.url, signOpsOf(ops.split(',')), verifyOpsOf(ops.split(',')))));
    const lines: string[] = [];
    for (const op of ops.split(',')) {
      const rps: number[][] = [[], []];
      const p99: number[][] = [[], []];
      const cpuMs: number[][] = [[], []];
      /** Postgres's backends for the bench database, and the load generator: ms of CPU per request. */
      const pgMs: number[][] = [[], []];
      const genMs: number[][] = [[], []];
      /** The server's event-loop delay over the round: max and p99 (ms). */
      const loopMax: number[][] = [[], []];
      const loopP99: number[][] = [[], []];
      for (let round = 0; round < ROUNDS; round++) {
        // A then B, then B then A: whichever runs second in a round may find the machine in another state (the
        // first one's Postgres writes being checkpointed, say), so neither is always second.
        for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
          const phase = phases(prepared[i] as Prepared).find((p) => p.name === op);
          if (!phase) throw new Error(`unknown operation ${op}`);
          const pid = servers[i]?.child.pid as number;
          await loopStats(servers[i] as Child); // reset
          const ticks0 = cpuTicks(pid);
          const url = dbs[i]?.url;
          const account = { serverPid: pid, database: url ? new URL(url).pathname.slice(1) : null };
          const r = await runLoadProcess({ url: (servers[i] as { url: string }).url, target: phase.target, bodies: phase.bodies, credentials: { ...ADMIN, region: REGION }, connections: CONNECTIONS, warmupMs: 1000, durationMs: SECONDS * 1000, account });
          if (r.errors) throw new Error(`${op} on ${variants[i]}: ${r.errors} errors, first: ${r.firstError}`);
          // Over the measured window when the load generator accounted it; else warm-up requests counted too.
          const perReq = r.cpu ? r.cpu.server / r.requests : ((cpuTicks(pid) - ticks0) * 10) / (r.requests * (1 + 1 / SECONDS));
          const loop = await loopStats(servers[i] as Child);
          if (loop) loopMax[i]?.push(loop.maxMs);
          if (loop) loopP99[i]?.push(loop.p99Ms);
          if (r.cpu) pgMs[i]?.push(Math.round((r.cpu.postgresBench / r.requests) * 1000) / 1000);
          if (r.cpu) genMs[i]?.push(Math.round((r.cpu.loadgen / r.requests) * 1000) / 1000);
          if (r.cpu) process.stderr.write(`[ab]   ${describeAccount(r.cpu, r.requests)}\n`);
          cpuMs[i]?.push(Math.round(perReq * 100) / 100);
          rps[i]?.push(r.rps);
          p99[i]?.push(r.p99Ms);
          process.stderr.write(`[ab] ${op} round ${round + 1} ${variants[i] || '(default)'}: ${r.rps} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, server CPU ${cpuMs[i]?.at(-1)} ms/req, loop p99/max ${loop ? `${loop.p99Ms}/${loop.maxMs}` : '-'} ms\n`);
        }
      }
      for (const i of [0, 1]) {
        lines.push(`${op} ${variants[i] || '(default)'}: median ${median(rps[i] as number[])} req/s (rounds ${(rps[i] as number[]).join(', ')}), median p99 ${median(p99[i] as number[])} ms, median server CPU ${median(cpuMs[i] as number[])} ms/req` +
          ((pgMs[i] as number[]).length ? `, median Postgres (bench db) ${median(pgMs[i] as number[])} ms/req, load generator ${median(genMs[i] as number[])} ms/req` : '') +
          ((loopMax[i] as number[]).length ? `, loop p99 median ${median(loopP99[i] as number[])} ms, loop max per round ${(loopMax[i] as number[]).join(', ')} ms` : ''));
      }
      lines.push(`${op} B/A: ${(median(rps[1] as number[]) / median(rps[0] as number[])).toFixed(2)}`);
    }
    process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n` + lines.join('\n') + '\n');
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(dbs.map((d) => d.drop()));
    for (const t of trees) if (t) rmSync(t, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
