// Where a serving process's memory goes under Encrypt load: for the supervisor and each worker, RSS split into
// anonymous (heap, native allocations: V8, SoftHSM, OpenSSL, buffers) and file-backed (node binary, shared libraries)
// from /proc/<pid>/smaps_rollup, sampled at the end of a load run. `npm run bench:memory`; BENCH_SERVER_ENV adds
// server environment (e.g. 'COFFER_WORKERS=1' or 'NODE_OPTIONS=--max-semi-space-size=4').
import { readFileSync } from 'node:fs';
import { processTree } from './cpu-account.js';
import { ADMIN, freshDatabase, REGION, runLoadProcess, startCofferServer } from './processes.js';
import { NO_THROTTLE, phases, prepare } from './run.js';

function rollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(Rss|Pss|Anonymous|Pss_Anon|Pss_File|Shared_Clean|Private_Clean):\s+(\d+) kB/.exec(line);
    if (m) out[m[1] as string] = Math.round(Number(m[2]) / 1024);
  }
  return out;
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 15);
  const db = await freshDatabase();
  const server = await startCofferServer({ databaseUrl: db.url, env: NO_THROTTLE });
  try {
    await new Promise((r) => setTimeout(r, 3000)); // every worker up
    const phase = phases(await prepare(server.url)).find((p) => p.name === 'Encrypt' && p.server === 'coffer');
    if (!phase) throw new Error('no Encrypt phase');
    let last: Array<{ pid: number; r: Record<string, number> }> = [];
    /** PSS of the whole tree every 30 s: a soak (BENCH_SECONDS=300) shows whether memory stays flat. */
    const timeline: string[] = [];
    const started = Date.now();
    let tick = 0;
    const sampler = setInterval(() => {
      const tree = processTree(server.child.pid as number).map((pid) => ({ pid, r: rollup(pid) }));
      last = tree;
      if (tick++ % 30 === 0) timeline.push(`  ${Math.round((Date.now() - started) / 1000)} s: PSS ${tree.reduce((a, t) => a + (t.r.Pss ?? 0), 0)} MB (${tree.map((t) => t.r.Pss).join(' + ')})`);
    }, 1000);
    const r = await runLoadProcess({ url: server.url, target: phase.target, bodies: phase.bodies, credentials: { ...ADMIN, region: REGION }, connections: 64, warmupMs: 2000, durationMs: seconds * 1000 });
    clearInterval(sampler);
    const samples = last.map(({ pid, r }) => `${pid === server.child.pid ? 'supervisor/main' : 'worker'} ${pid}: ${JSON.stringify(r)}`);
    const sum = (field: string) => last.reduce((a, t) => a + (t.r[field] ?? 0), 0);
    process.stdout.write(`Encrypt ${r.rps} req/s for ${seconds} s, ${process.env.BENCH_SERVER_ENV ?? '(defaults)'}\nMB at the end of the load (Rss = Anonymous + file-backed; Pss shares the libraries out):\n${samples.join('\n')}\nsum of Rss: ${sum('Rss')} MB, sum of Pss: ${sum('Pss')} MB\nPSS of the tree over the run:\n${timeline.join('\n')}\n`);
  } finally {
    await server.stop();
    await db.drop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
