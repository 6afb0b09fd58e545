// `npm run bench:profile [-- '<phase>']`: one bench phase (Encrypt by default, e.g. 'GenerateRandom' or
// 'Sign ECC_NIST_P256') under load with the server on --cpu-prof, summarised as text (top self-time functions, self
// time by component, and CPU time inside the request-path functions); written to bench/profile-<phase>.txt.
// BENCH_KEYS=N: the profile covers creating N keys (16 at a time) and then Encrypt spread over all of them
// (bench/profile-many-keys-<N>.txt); BENCH_SERVER_ENV (scripts/bench/processes.ts) e.g. COFFER_KEY_STORE=token.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAccount } from './cpu-account.js';
import { ADMIN, freshDatabase, REGION, ROOT, runLoadProcess, startCofferServer } from './processes.js';
import { NO_THROTTLE, phases, prepare, signOpsOf, verifyOpsOf, type Phase } from './run.js';
import { encryptBodies, topUp } from './many-keys.js';
import { KMSClient } from '@aws-sdk/client-kms';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const COMPONENTS: Array<[string, RegExp]> = [
  ['postgres.js driver', /node_modules\/postgres\//],
  ['drizzle-orm', /node_modules\/drizzle-orm\//],
  ['hono + node-server', /node_modules\/(hono|@hono)\//],
  ['zod', /node_modules\/zod\//],
  ['pkcs11js binding', /node_modules\/pkcs11js\//],
  ['server/protocol/sigv4.ts', /server\/protocol\/sigv4\.[jt]s/],
  ['server/ (other)', /\/server\//],
  ['core/', /\/core\//],
  ['db/', /\/db\//],
  ['hsm/', /\/hsm\//],
  ['sdk/ contract', /\/sdk\//],
  ['other node_modules', /node_modules\//],
  ['node internals (http, net, streams, crypto)', /^node:|^internal\//],
];

/** Functions whose CPU time (their own plus what they call synchronously) is worth knowing. */
const INCLUSIVE = ['createKey', 'createRootKey', 'createMaterial', 'find', 'read', 'invalidate', 'verifySigV4', 'lookupCredential', 'validateRequest', 'parseJson', 'audited', 'append', 'sealUnderKey', 'encrypt', 'resolveKey', 'authorize', 'kmsEndpoint', 'renderError', 'transaction'];

function component(n: Node): string {
  const { url, functionName } = n.callFrame;
  if (url === '') return functionName.startsWith('(') ? functionName : `native: ${functionName || '(anonymous)'}`;
  return COMPONENTS.find(([, re]) => re.test(url))?.[0] ?? 'other';
}

export function summarise(p: Profile, top = 30): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const incl = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)?.callFrame.functionName ?? '';
      if (INCLUSIVE.includes(name) && !seen.has(name)) {
        seen.add(name);
        incl.set(name, (incl.get(name) ?? 0) + dt);
      }
    }
  });
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;
  const pct = (v: number) => `${((v / busy) * 100).toFixed(1).padStart(5)}%`;
  const fns = new Map<string, number>();
  const comps = new Map<string, number>();
  for (const [id, v] of self) {
    const n = byId.get(id) as Node;
    if (n.callFrame.functionName === '(idle)') continue;
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*\/(node_modules\/|wt\/[^/]+\/)/, '')}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + v);
    comps.set(component(n), (comps.get(component(n)) ?? 0) + v);
  }
  for (const [k, v] of [...comps]) {
    if (v / busy >= 0.003) continue;
    comps.delete(k);
    comps.set('the rest (each under 0.3%)', (comps.get('the rest (each under 0.3%)') ?? 0) + v);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `Profiled ${(total / 1e6).toFixed(1)} s, of which ${((idle / total) * 100).toFixed(1)}% idle; percentages below are of busy (non-idle) time.`,
    '',
    'Self time by component:',
    ...sorted(comps).map(([k, v]) => `  ${pct(v)}  ${k}`),
    '',
    `Top ${top} functions by self time:`,
    ...sorted(fns).slice(0, top).map(([k, v]) => `  ${pct(v)}  ${k}`),
    '',
    'CPU time inside request-path functions (self + synchronous callees; async continuations counted where they resume):',
    ...sorted(incl).map(([k, v]) => `  ${pct(v)}  ${k}`),
    '',
  ].join('\n');
}

const KEYS = Number(process.env.BENCH_KEYS ?? 0);

/** BENCH_KEYS=N: N keys made through the SDK, then Encrypt spread over them. */
async function manyKeysPhase(url: string): Promise<Phase> {
  const kms = new KMSClient({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  try {
    const ids = (await topUp(kms, KEYS, new Set())).sort(() => Math.random() - 0.5);
    return { name: `Encrypt over ${ids.length} keys`, target: 'TrentService.Encrypt', bodies: encryptBodies(ids, ids.length), raw: 'encrypt', server: 'coffer' };
  } finally {
    kms.destroy();
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const name = process.argv[2] ?? 'Encrypt';
  const slug = KEYS > 0 ? `many-keys-${KEYS}` : name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const dir = mkdtempSync(join(tmpdir(), 'coffer-loadbench-prof-'));
  const db = await freshDatabase();
  try {
    const server = await startCofferServer({
      databaseUrl: db.url,
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      // One serving process, so that one profile holds every request's work (COFFER_WORKERS=auto would fork one per core).
      env: { ...NO_THROTTLE, COFFER_WORKERS: '1' },
    });
    let result;
    try {
      const phase = KEYS > 0
        ? await manyKeysPhase(server.url)
        : phases(await prepare(server.url, signOpsOf([name]), verifyOpsOf([name]))).find((p) => p.name === name && p.server === 'coffer');
      if (!phase) throw new Error(`no bench phase named ${name}`);
      const account = { serverPid: server.child.pid as number, database: db.url ? new URL(db.url).pathname.slice(1) : null };
      result = await runLoadProcess({ url: server.url, target: phase.target, bodies: phase.bodies, credentials: { ...ADMIN, region: REGION }, connections: 64, warmupMs: 2000, durationMs: seconds * 1000, account });
    } finally {
      await server.stop();
    }
    // One profile per thread (tsx's loader runs in a worker): the main thread's is the largest.
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
    if (!file) throw new Error('no .cpuprofile written');
    const text =
      `${phase0Name(name)} under load (${result.rps} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.errors} errors, ${db.kind}), ` +
      `server on node --cpu-prof, ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n` +
      (result.cpu ? `${describeAccount(result.cpu, result.requests)}\n` : '') +
      `\n${summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile)}`;
    writeFileSync(join(ROOT, 'bench', `profile-${slug}.txt`), text);
    process.stdout.write(text);
    process.stderr.write(`[bench] full profile: ${join(dir, file)}\n`);
  } finally {
    await db.drop();
  }
}

function phase0Name(name: string): string {
  return KEYS > 0 ? `${KEYS} keys created (16 at a time), then Encrypt spread over them` : name;
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
