// `npm run bench`: the real server under SigV4-signed load from a second process, beside the bare Hono ceiling
// and the raw token rate, in one run; prints a table and writes bench/results/<time>.json and latest.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateKeyCommand, EncryptCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { LoadResult, LoadSpec } from './loadgen.js';
import { manyKeyPhases } from './many-keys.js';
import { describeAccount } from './cpu-account.js';
import { watchSteal } from './steal.js';
import { ADMIN, cpuTicks, freshDatabase, postgresProbe, type PostgresProbe, REGION, ROOT, runLoadProcess, sampleRss, startBareHono, startCofferServer, type Child } from './processes.js';
import { rawTokenRates, SIGN_OPS, type RawOp, type RawRate, type SignOp } from './raw-token.js';

const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const SECONDS = num('BENCH_SECONDS', 10);
const WARMUP = num('BENCH_WARMUP_SECONDS', 2);
const CONNECTIONS = num('BENCH_CONNECTIONS', 64);
const ONLY = process.env.BENCH_ONLY?.split(',');
/** BENCH_KEYS=N adds the CreateKey rate and Encrypt over N keys vs over 10 (scripts/bench/many-keys.ts). */
const KEYS = num('BENCH_KEYS', 0);
/**
 * Seconds of unmeasured load on each server (bare Hono's and Coffer's) before its first phase: a server that has just started is still
 * compiling its shared path (HTTP, SigV4, authorizer, audit batch) for seconds, and on slower VMs the first phase's
 * 2-s warm-up did not cover it (Encrypt, measured first, cost 5-20% more CPU per request than Decrypt there and the
 * same on fast VMs).
 */
const PRIME = num('BENCH_PRIME_SECONDS', 5);
/** Quotas high enough never to throttle, but still counted (the bucket code runs). */
export const NO_THROTTLE = { COFFER_QUOTA_SYMMETRIC_RPS: '1000000000', COFFER_QUOTA_MANAGEMENT_RPS: '1000000000', COFFER_QUOTA_ASYMMETRIC_RPS: '1000000000' };

export interface Phase {
  name: string;
  target: string;
  bodies: string[];
  raw: RawOp | null;
  server: 'coffer' | 'bare';
}

export interface Row extends LoadResult {
  operation: string;
  rawTokenRps: number | null;
  rawTokenMode: string | null;
  ratioToRaw: number | null;
  ratioToBareHono: number | null;
  serverCpuPercent: number | null;
  /** Server CPU time per request: the work a request costs, much steadier than req/s on a busy machine. */
  serverCpuMsPerRequest: number | null;
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
  rssMaxMb: number | null;
}

export interface Prepared {
  keyId: string;
  ciphertexts: string[];
  /** A SIGN_VERIFY key per Sign phase, made only for the phases that run (an RSA_4096 key takes seconds). */
  signingKeys: Partial<Record<SignOp, string>>;
  /** Digests signed through the server, for the Verify phases: [base64 digest, base64 signature]. */
  signatures: Partial<Record<SignOp, [string, string][]>>;
}

/** The Sign phases: a SHA-256 digest (MessageType DIGEST) signed with each key spec; raw loops in raw-token.ts. */
const SIGN_PHASES: { name: string; raw: SignOp }[] = [
  { name: 'Sign ECC_NIST_P256', raw: 'signEcc' },
  { name: 'Sign RSA_2048', raw: 'signRsa2048' },
  { name: 'Sign RSA_4096', raw: 'signRsa4096' },
];

/** Verify phases: a signature the server made, checked by the same key (no raw token loop beside them). */
const VERIFY_PHASES: { name: string; key: SignOp }[] = [
  { name: 'Verify ECC_NIST_P256', key: 'signEcc' },
  { name: 'Verify RSA_2048', key: 'signRsa2048' },
];

export async function prepare(url: string, signOps: SignOp[] = [], verifyOps: SignOp[] = []): Promise<Prepared> {
  const kms = new KMSClient({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  const key = await kms.send(new CreateKeyCommand({ Description: 'bench' }));
  const keyId = key.KeyMetadata?.KeyId as string;
  const ciphertexts: string[] = [];
  for (let i = 0; i < 16; i++) {
    const r = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(32) }));
    ciphertexts.push(Buffer.from(r.CiphertextBlob as Uint8Array).toString('base64'));
  }
  const signingKeys: Prepared['signingKeys'] = {};
  for (const op of new Set([...signOps, ...verifyOps])) {
    const made = await kms.send(new CreateKeyCommand({ Description: `bench ${op}`, KeySpec: SIGN_OPS[op].spec, KeyUsage: 'SIGN_VERIFY' }));
    signingKeys[op] = made.KeyMetadata?.KeyId as string;
  }
  const signatures: Prepared['signatures'] = {};
  for (const op of verifyOps) {
    const pairs: [string, string][] = [];
    for (let i = 0; i < 16; i++) {
      const digest = randomBytes(32);
      const r = await kms.send(new SignCommand({ KeyId: signingKeys[op], Message: digest, MessageType: 'DIGEST', SigningAlgorithm: SIGN_OPS[op].algorithm }));
      pairs.push([digest.toString('base64'), Buffer.from(r.Signature as Uint8Array).toString('base64')]);
    }
    signatures[op] = pairs;
  }
  kms.destroy();
  return { keyId, ciphertexts, signingKeys, signatures };
}

/** The sign keys the chosen phases need (all Sign phases when BENCH_ONLY is unset). */
export const signOpsOf = (names: string[] | undefined): SignOp[] => SIGN_PHASES.filter((p) => !names || names.includes(p.name)).map((p) => p.raw);

/** The keys whose signatures the chosen Verify phases check (all of them when BENCH_ONLY is unset). */
export const verifyOpsOf = (names: string[] | undefined): SignOp[] => VERIFY_PHASES.filter((p) => !names || names.includes(p.name)).map((p) => p.key);

export function phases({ keyId, ciphertexts, signingKeys, signatures }: Prepared): Phase[] {
  const plaintexts = Array.from({ length: 64 }, () => JSON.stringify({ KeyId: keyId, Plaintext: randomBytes(32).toString('base64') }));
  const signs: Phase[] = SIGN_PHASES.map(({ name, raw }) => {
    const body = () => ({ KeyId: signingKeys[raw] ?? '', Message: randomBytes(32).toString('base64'), MessageType: 'DIGEST', SigningAlgorithm: SIGN_OPS[raw].algorithm });
    return { name, target: 'TrentService.Sign', bodies: Array.from({ length: 64 }, () => JSON.stringify(body())), raw, server: 'coffer' };
  });
  const verifies: Phase[] = VERIFY_PHASES.map(({ name, key }) => {
    const bodies = (signatures[key] ?? []).map(([digest, signature]) =>
      JSON.stringify({ KeyId: signingKeys[key] ?? '', Message: digest, MessageType: 'DIGEST', Signature: signature, SigningAlgorithm: SIGN_OPS[key].algorithm }));
    return { name, target: 'TrentService.Verify', bodies, raw: null, server: 'coffer' };
  });
  const all: Phase[] = [
    { name: 'bare Hono (HTTP ceiling)', target: 'TrentService.Encrypt', bodies: plaintexts, raw: null, server: 'bare' },
    { name: 'Encrypt', target: 'TrentService.Encrypt', bodies: plaintexts, raw: 'encrypt', server: 'coffer' },
    { name: 'Decrypt', target: 'TrentService.Decrypt', bodies: ciphertexts.map((c) => JSON.stringify({ CiphertextBlob: c })), raw: 'decrypt', server: 'coffer' },
    { name: 'GenerateDataKey', target: 'TrentService.GenerateDataKey', bodies: [JSON.stringify({ KeyId: keyId, NumberOfBytes: 32 })], raw: 'generateDataKey', server: 'coffer' },
    { name: 'GenerateRandom', target: 'TrentService.GenerateRandom', bodies: [JSON.stringify({ NumberOfBytes: 32 })], raw: 'random32', server: 'coffer' },
    ...signs,
    ...verifies,
  ];
  return ONLY ? all.filter((p) => p.server === 'bare' || ONLY.includes(p.name)) : all;
}

/**
 * Asks the server for its event-loop delay since the last ask (SIGUSR2, see server/bench-stats.ts). With several
 * workers each answers for its own loop: the worst p99 and the worst max of those that answered within 300 ms of the
 * first.
 */
export async function loopStats(server: Child): Promise<{ p99Ms: number; maxMs: number; gcMaxMs?: number; workers: unknown[] } | null> {
  const before = server.logs().length;
  server.child.kill('SIGUSR2');
  const answers = () =>
    [...server.logs().slice(before).matchAll(/"msg":"bench-stats","eventLoopDelay":(\{[^}]*\})/g)].map((m) => JSON.parse(m[1] as string) as { p99Ms: number; maxMs: number; gcMaxMs?: number });
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50));
    if (answers().length > 0) {
      await new Promise((r) => setTimeout(r, 300));
      const all = answers();
      return {
        p99Ms: Math.max(...all.map((a) => a.p99Ms)),
        maxMs: Math.max(...all.map((a) => a.maxMs)),
        gcMaxMs: Math.max(...all.map((a) => a.gcMaxMs ?? 0)),
        workers: all,
      };
    }
  }
  return null;
}

/** Audit events committed and group commits so far, from the server's /metrics (every worker's); null if unread. */
async function auditCounters(url: string): Promise<{ events: number; batches: number } | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
    return { events: sum('coffer_audit_writes_total'), batches: sum('coffer_audit_batches_total') };
  } catch {
    return null;
  }
}

/** The bench database's name, for the load generator's CPU accounting of Postgres's backends. */
let benchDatabase: string | null = null;

async function measure(phase: Phase, target: Child, server: Child | null): Promise<Omit<Row, 'rawTokenRps' | 'rawTokenMode' | 'ratioToRaw' | 'ratioToBareHono'>> {
  const spec: LoadSpec = {
    url: target.url,
    target: phase.target,
    bodies: phase.bodies,
    credentials: { ...ADMIN, region: REGION },
    connections: CONNECTIONS,
    warmupMs: WARMUP * 1000,
    durationMs: SECONDS * 1000,
    ...(target.child.pid ? { account: { serverPid: target.child.pid, database: benchDatabase } } : {}),
  };
  // CPU and RSS of whichever server is under load (the bare one too); event-loop delay from Coffer's own stats.
  const pid = target.child.pid;
  if (server) await loopStats(server); // reset
  const stopSteal = watchSteal();
  const audit0 = server ? await auditCounters(server.url) : null;
  const rss = pid ? sampleRss(pid) : null;
  const ticks0 = pid ? cpuTicks(pid) : 0;
  const t0 = performance.now();
  const result = await runLoadProcess(spec);
  const loadMs = Math.round(performance.now() - t0);
  const steal = stopSteal();
  const ticks = pid ? cpuTicks(pid) - ticks0 : 0;
  const cpu = pid ? ticks / ((performance.now() - t0) / 1000) : null;
  // The load generator's warm-up requests and those of the measured window all ran while ticks were counted.
  const served = result.requests * (1 + WARMUP / SECONDS);
  const samples = rss?.stop() ?? [];
  const loop = server ? await loopStats(server) : null;
  // longTurns' times count from just before the load generator started; its measured window is the last SECONDS.
  if (loop) process.stderr.write(`[bench] ${phase.name}: event loop per process (load ran ${loadMs} ms) ${JSON.stringify(loop.workers)}\n`);
  process.stderr.write(`[bench] ${phase.name}: hypervisor steal ${steal.totalMs} ms over all vCPUs, ${steal.stalls} stalls of a vCPU >= 20 ms (longest ${steal.longestMs} ms; [ms, vCPU, ms]: ${JSON.stringify(steal.at)})\n`);
  const audit1 = audit0 && server ? await auditCounters(server.url) : null;
  if (audit0 && audit1 && audit1.batches > audit0.batches) {
    const events = audit1.events - audit0.events;
    const batches = audit1.batches - audit0.batches;
    process.stderr.write(`[bench] ${phase.name}: ${events} audit events in ${batches} group commits (${(events / batches).toFixed(1)} per commit)\n`);
  }
  // Over the measured window exactly when the load generator accounted it; else over the whole phase (which
  // also counts the load generator's start-up and wind-down, diluting the percentage).
  const windowed = result.cpu && result.requests ? result.cpu : null;
  return {
    operation: phase.name,
    ...result,
    serverCpuPercent: windowed ? Math.round(windowed.server / result.seconds / 10) : cpu === null ? null : Math.round(cpu),
    serverCpuMsPerRequest: windowed ? Math.round((windowed.server / result.requests) * 100) / 100 : pid && served ? Math.round(((ticks * 10) / served) * 100) / 100 : null,
    loopDelayP99Ms: loop?.p99Ms ?? null,
    loopDelayMaxMs: loop?.maxMs ?? null,
    rssMaxMb: samples.length ? Math.max(...samples) : null,
  };
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const fmt = (v: number | null, digits = 0) => (v === null ? '-' : v.toFixed(digits));

function table(rows: Row[]): string {
  const head = ['operation', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'raw token/s', 'vs raw', 'vs bare Hono', 'loop p99/max ms', 'server CPU%', 'CPU ms/req', 'memory max MB'];
  const lines = rows.map((r) => [
    r.operation, fmt(r.rps), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), String(r.errors),
    r.rawTokenRps === null ? '-' : `${r.rawTokenRps} (${r.rawTokenMode})`, fmt(r.ratioToRaw, 2), fmt(r.ratioToBareHono, 2),
    r.loopDelayP99Ms === null ? '-' : `${r.loopDelayP99Ms}/${r.loopDelayMaxMs}`, fmt(r.serverCpuPercent), fmt(r.serverCpuMsPerRequest, 2), fmt(r.rssMaxMb),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => pad(c, widths[i] as number)).join(' | ')} |`;
  return [row(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

function best(rates: RawRate[], op: RawOp): RawRate | null {
  return rates.filter((r) => r.op === op).sort((a, b) => b.rps - a.rps)[0] ?? null;
}

async function main(): Promise<void> {
  const started = new Date();
  const load0 = loadavg();
  const db = await freshDatabase();
  const rows: Omit<Row, 'rawTokenRps' | 'rawTokenMode' | 'ratioToRaw' | 'ratioToBareHono'>[] = [];
  let serverLogs: string;
  let probe: PostgresProbe | null = null;
  try {
    if (db.url) probe = await postgresProbe(db.url);
    benchDatabase = db.url ? new URL(db.url).pathname.slice(1) : null;
    const server = await startCofferServer({ databaseUrl: db.url, env: NO_THROTTLE });
    const bare = await startBareHono();
    try {
      const prepared = await prepare(server.url, signOpsOf(ONLY), verifyOpsOf(ONLY));
      const run = async (phase: Phase) => {
        process.stderr.write(`[bench] ${phase.name} for ${SECONDS} s ...\n`);
        rows.push(await measure(phase, phase.server === 'bare' ? bare : server, phase.server === 'bare' ? null : server));
      };
      for (const [which, target] of [['bare', bare], ['coffer', server]] as const) {
        const first = phases(prepared).find((p) => p.server === which);
        if (!first || PRIME <= 0) continue;
        process.stderr.write(`[bench] priming with ${PRIME} s of ${first.name} (not measured) ...\n`);
        await runLoadProcess({ url: target.url, target: first.target, bodies: first.bodies, credentials: { ...ADMIN, region: REGION }, connections: CONNECTIONS, warmupMs: 0, durationMs: PRIME * 1000 });
      }
      for (const phase of phases(prepared)) await run(phase);
      const exclude = [prepared.keyId, ...Object.values(prepared.signingKeys)];
      for await (const phase of KEYS ? manyKeyPhases(server.url, KEYS, exclude) : []) await run(phase);
    } finally {
      await bare.stop();
      await server.stop();
      serverLogs = server.logs();
      if (process.env.BENCH_DUMP_LOGS) writeFileSync(process.env.BENCH_DUMP_LOGS, serverLogs);
    }
  } finally {
    await db.drop();
  }
  process.stderr.write('[bench] raw token rates ...\n');
  const rawOf = (name: string) => (name.startsWith('Encrypt over') ? 'encrypt' : (phases({ keyId: '', ciphertexts: [], signingKeys: {}, signatures: {} }).find((p) => p.name === name)?.raw ?? null));
  const rawOps = [...new Set(rows.map((r) => rawOf(r.operation)).filter((op): op is RawOp => op !== null))];
  const raw = await rawTokenRates({ callers: CONNECTIONS, ms: Math.max(1000, (SECONDS * 1000) / 4), ops: rawOps });
  const bareRps = rows.find((r) => r.operation.startsWith('bare'))?.rps ?? null;
  const full: Row[] = rows.map((r) => {
    const op = rawOf(r.operation);
    const b = op ? best(raw.rates, op) : null;
    return {
      ...r,
      rawTokenRps: b?.rps ?? null,
      rawTokenMode: b?.mode ?? null,
      ratioToRaw: b ? Math.round((r.rps / b.rps) * 100) / 100 : null,
      ratioToBareHono: bareRps ? Math.round((r.rps / bareRps) * 100) / 100 : null,
    };
  });
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadavgBefore: load0, loadavgAfter: loadavg() };
  const result = { started: started.toISOString(), seconds: SECONDS, connections: CONNECTIONS, database: db.kind, postgresProbe: probe, machine, rows: full, rawToken: raw, shutdownStats: /"msg":"bench-stats".*$/m.exec(serverLogs)?.[0] ?? null };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(result, null, 2) + '\n';
  writeFileSync(join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`), text);
  writeFileSync(join(dir, 'latest.json'), text);
  process.stdout.write(`\nCoffer bench, ${started.toISOString()}: ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, ${db.kind}, ${CONNECTIONS} connections, ${SECONDS} s each\n`);
  process.stdout.write(`load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${machine.loadavgAfter.map((l) => l.toFixed(2)).join(' ')}\n\n`);
  if (probe) {
    process.stdout.write(`Postgres in this run: ${probe.sequentialCommitsPerS} single-row commits/s awaited one by one, ${probe.commitsPerSWith10InFlight}/s with 10 in flight, ${probe.selectRoundTripsPerS} select-1 round trips/s\n\n`);
  }
  const accounts = full.filter((r) => r.cpu && r.requests).map((r) => `  ${r.operation}: ${describeAccount(r.cpu as NonNullable<Row['cpu']>, r.requests)}`);
  process.stdout.write(table(full) + '\n\nWhole machine over each measured window:\n' + accounts.join('\n') + '\n\nraw token (pool ' + raw.poolSize + ' sessions, ' + CONNECTIONS + ' callers): ' + raw.rates.map((r) => `${r.op}/${r.mode} ${r.rps}`).join(', ') + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
