// Starts the real server as a child process (as ./scripts/start does) and gives AWS SDK clients for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll } from 'vitest';
import { listeningUrl } from '../../server/listening.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ADMIN = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
export const REGION = 'us-east-1';
export const ACCOUNT = '111122223333';

export interface CofferProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far. */
  logs(): string;
  client(credentials?: { accessKeyId: string; secretAccessKey: string }): KMSClient;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  databaseUrl?: string | undefined;
  env?: Record<string, string>;
  /** Leave the administrator to be generated (no COFFER_ADMIN_* variables). */
  generatedAdmin?: boolean;
}

export function tempDataDir(prefix = 'coffer-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export { listeningUrl };

/**
 * Starts several servers at once; if any fails to start, stops the ones that did before rethrowing, so a failed
 * test leaves no server running behind it (one did, for two hours, after a start-up race).
 */
export async function startCoffers(all: StartOptions[]): Promise<CofferProcess[]> {
  const started = await Promise.allSettled(all.map((o) => startCoffer(o)));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return started.map((r) => (r as PromiseFulfilledResult<CofferProcess>).value);
  await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
  throw failed.reason;
}

export async function startCoffer(opts: StartOptions = {}): Promise<CofferProcess> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    COFFER_PORT: '0',
    COFFER_DATA_DIR: dataDir,
    COFFER_LOG_LEVEL: 'info',
    ...(opts.generatedAdmin ? {} : { COFFER_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId, COFFER_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey }),
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    // One serving process unless a test asks for workers (the default, auto, forks one per core on Postgres);
    // COFFER_TEST_WORKERS=auto (or a number) runs every server a test starts that way.
    COFFER_WORKERS: process.env.COFFER_TEST_WORKERS ?? '1',
    // COFFER_TEST_KEY_STORE=wrapped runs every server a test starts with wrapped key material (hsm/wrapped-keys.ts).
    ...(process.env.COFFER_TEST_KEY_STORE ? { COFFER_KEY_STORE: process.env.COFFER_TEST_KEY_STORE } : {}),
    ...opts.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const url = listeningUrl(output);
      if (url) {
        clearTimeout(timer);
        resolveUrl(url);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    dataDir,
    child,
    logs: () => output,
    client: (credentials = ADMIN) => new KMSClient({ endpoint: url, region: REGION, credentials, maxAttempts: 1 }),
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r(child.exitCode);
        child.once('exit', (code) => r(code));
        child.kill('SIGTERM');
      }),
  };
}

/** The error name and message of a rejected SDK call, for assertions. */
export async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

/**
 * One server per test file on a fresh test database (Postgres when one answers, else PGlite), started in
 * beforeAll and stopped, with its database dropped, in afterAll. Read the fields inside tests, not at collection.
 */
export function serverPerFile(opts: Omit<StartOptions, 'databaseUrl'> = {}): {
  readonly server: CofferProcess;
  readonly kms: KMSClient;
  readonly db: TestDatabase | null;
} {
  const state: { server?: CofferProcess; kms?: KMSClient; db?: TestDatabase | null } = {};
  beforeAll(async () => {
    state.db = await createTestDatabase();
    state.server = await startCoffer({ ...opts, databaseUrl: state.db?.url });
    state.kms = state.server.client();
  });
  afterAll(async () => {
    state.kms?.destroy();
    await state.server?.stop();
    await state.db?.drop();
  });
  return {
    get server() {
      return state.server as CofferProcess;
    },
    get kms() {
      return state.kms as KMSClient;
    },
    get db() {
      return state.db ?? null;
    },
  };
}
