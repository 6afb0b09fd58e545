// The bench's child processes: the real server (dev SoftHSM token in a temp dir, a fresh Postgres database or
// PGlite), the bare Hono server, and the load generator; plus RSS sampling from /proc.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { listeningUrl } from '../../server/listening.js';
import { processTree, ticksOf } from './cpu-account.js';
import type { LoadResult, LoadSpec } from './loadgen.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
export const REGION = 'us-east-1';
const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const TSX = ['--import', 'tsx'];

const built = new Map<string, string>();

/**
 * The server as ./scripts/start and the container run it: compiled (tsc -p tsconfig.build.json into the tree's
 * dist/), on plain node. Under tsx the server carried tsx's loader thread and its transpiled-source maps (more RSS,
 * a few % of CPU) that production does not. BENCH_TSX=1 runs server/main.ts under tsx instead. Built once per tree.
 */
function serverEntry(root: string): string[] {
  if (process.env.BENCH_TSX === '1') return [...TSX, join(root, 'server', 'main.ts')];
  let entry = built.get(root);
  if (!entry) {
    process.stderr.write(`[bench] compiling the server in ${root} ...\n`);
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    built.set(root, (entry = join(root, 'dist', 'server', 'main.js')));
  }
  return [entry];
}

export interface Child {
  child: ChildProcess;
  url: string;
  logs(): string;
  stop(): Promise<number | null>;
}

/** Spawns a node script and waits until `urlIn` finds its URL in the output. */
function spawnUntil(args: string[], env: Record<string, string>, urlIn: (output: string) => string | null): Promise<Child> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const stop = () =>
    new Promise<number | null>((r) => {
      if (child.exitCode !== null) return r(child.exitCode);
      child.once('exit', (code) => r(code));
      child.kill('SIGTERM');
    });
  return new Promise((resolveChild, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start in 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const url = urlIn(output);
      if (!url) return;
      clearTimeout(timer);
      resolveChild({ child, url, logs: () => output, stop });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
}

export interface ServerOptions {
  databaseUrl: string | undefined;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Another source tree to run the server from (bench:ab's `@ref` variants); this one when absent. */
  root?: string;
}

/** BENCH_SERVER_ENV='A=1 B=2': server environment a bench adds to every server it starts (e.g. COFFER_KEY_STORE=wrapped). */
export function benchServerEnv(): Record<string, string> {
  const pairs = (process.env.BENCH_SERVER_ENV ?? '').split(/\s+/).filter(Boolean);
  return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

export function startCofferServer(opts: ServerOptions): Promise<Child & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-loadbench-server-'));
  const env: Record<string, string> = {
    COFFER_PORT: '0',
    COFFER_DATA_DIR: dataDir,
    COFFER_LOG_LEVEL: 'info',
    COFFER_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
    COFFER_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    COFFER_BENCH_STATS: '1',
    ...benchServerEnv(),
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  };
  const args = [...(opts.nodeArgs ?? []), ...serverEntry(opts.root ?? ROOT)];
  const started = spawnUntil(args, env, listeningUrl).catch((e: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  });
  // Stopping also removes the data directory (token, PIN files): nothing of a bench run stays behind.
  return started.then((c) => ({ ...c, dataDir, stop: () => c.stop().finally(() => rmSync(dataDir, { recursive: true, force: true })) }));
}

export function startBareHono(): Promise<Child> {
  return spawnUntil([...TSX, join(ROOT, 'scripts', 'bench', 'bare-hono.ts')], {}, (out) => /\{"url":"([^"]+)"\}/.exec(out)?.[1] ?? null);
}

/** Runs the load generator in its own process and returns what it measured. */
export function runLoadProcess(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, [...TSX, join(ROOT, 'scripts', 'bench', 'loadgen.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  child.stdin.end(JSON.stringify(spec));
  return new Promise((resolveResult, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolveResult(JSON.parse(out) as LoadResult);
      else reject(new Error(`load generator exited with ${code}: ${err}`));
    });
  });
}

export interface BenchDatabase {
  kind: 'postgres' | 'pglite';
  url: string | undefined;
  drop(): Promise<void>;
}

/** A fresh database on the local Postgres, else PGlite (the server opens it in its data directory). */
export async function freshDatabase(): Promise<BenchDatabase> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? LOCAL_ADMIN_URL;
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  const name = `coffer_bench_${randomBytes(6).toString('hex')}`;
  try {
    await admin.unsafe(`create database ${name}`);
  } catch {
    await admin.end({ timeout: 1 }).catch(() => {});
    return { kind: 'pglite', url: undefined, drop: async () => {} };
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    kind: 'postgres',
    url: u.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end({ timeout: 5 });
    },
  };
}

/**
 * Resident memory of a process and its children in MB, from /proc (Linux); null elsewhere. One process: its RSS.
 * Several (COFFER_WORKERS > 1: the supervisor and its workers): their PSS summed, so that the pages they share (node's
 * binary and libraries, about 45 MB each process maps) count once rather than once per process, as a sum of RSS
 * would (bench/memory-workers.txt: RSS summed 310 MB, PSS summed 194 MB for the same three processes).
 */
export function rssMb(pid: number): number | null {
  const tree = processTree(pid);
  const field = tree.length > 1 ? /^Pss:\s+(\d+) kB/m : /VmRSS:\s+(\d+) kB/;
  let kb: number | null = null;
  for (const p of tree) {
    try {
      const m = field.exec(readFileSync(tree.length > 1 ? `/proc/${p}/smaps_rollup` : `/proc/${p}/status`, 'utf8'));
      if (m) kb = (kb ?? 0) + Number(m[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kb === null ? null : Math.round(kb / 1024);
}

/** Samples RSS every `everyMs` until stopped; returns the samples. */
export function sampleRss(pid: number, everyMs = 250): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    const v = rssMb(pid);
    if (v !== null) samples.push(v);
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return samples;
    },
  };
}

/** CPU time (user + system) of a process and its children in clock ticks (1/100 s), from /proc (Linux); 0 elsewhere. */
export function cpuTicks(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + ticksOf(p), 0);
}

export interface PostgresProbe {
  sequentialCommitsPerS: number;
  /** As many in flight as the server's pool has connections (10). */
  commitsPerSWith10InFlight: number;
  selectRoundTripsPerS: number;
}

/** The database's own pace in the same run: single-row insert commits, awaited one by one and 10 at a time. */
export async function postgresProbe(url: string): Promise<PostgresProbe> {
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  const rate = async (n: number, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return Math.round(n / ((performance.now() - t0) / 1000));
  };
  try {
    await sql`create table bench_probe (id bigserial primary key, v text not null)`;
    const insert = () => sql`insert into bench_probe (v) values ('probe')`;
    const sequentialCommitsPerS = await rate(200, async () => {
      for (let i = 0; i < 200; i++) await insert();
    });
    const commitsPerSWith10InFlight = await rate(1000, () =>
      Promise.all(Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 100; i++) await insert();
      })),
    );
    const selectRoundTripsPerS = await rate(500, async () => {
      for (let i = 0; i < 500; i++) await sql`select 1`;
    });
    await sql`drop table bench_probe`;
    return { sequentialCommitsPerS, commitsPerSWith10InFlight, selectRoundTripsPerS };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
