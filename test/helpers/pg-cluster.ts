// A private Postgres cluster for fault tests (initdb + pg_ctl in a temporary directory, run as the postgres OS user,
// on a free port), so a test may stop and start it. Never touches the machine's shared server.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  start(): Promise<void>;
  /** Fast shutdown: sessions are terminated, in-flight transactions roll back. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function postgresUid(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

const run = promisify(execFile);

/** Runs a Postgres binary as the postgres user (runuser from root, directly when we are postgres); never blocks the loop. */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  const cmd = join(BIN, bin);
  if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', cmd, ...args]);
  else await run(cmd, args);
}

/** A fresh, started cluster; null (the caller skips, saying why) when Postgres 15 or the postgres user is missing. */
export async function createPgCluster(): Promise<PgCluster | null> {
  const ids = postgresUid();
  if (!existsSync(join(BIN, 'initdb')) || !ids) return null;
  if (process.getuid?.() !== 0 && process.getuid?.() !== ids.uid) return null;
  const dir = mkdtempSync(join(tmpdir(), 'coffer-pg-'));
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => asPostgres('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']),
    stop: () => asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']),
    destroy: async () => {
      await cluster.stop().catch(() => {}); // already stopped
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
