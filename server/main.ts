// The entry point: configuration and logging, then either the COFFER_WORKERS supervisor (server/cluster.ts), which
// forks the workers and serves nothing itself, or one serving process (server/serve.ts). The supervisor never loads
// the server's modules (token binding, database drivers, Hono): 56 MB resident instead of 70.
import cluster from 'node:cluster';
import { pathToFileURL } from 'node:url';
import { superviseWorkers } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : 'Invalid configuration'}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) return superviseWorkers(config.workers, config.shutdownTimeoutMs, log);
  // A stop signal during the import of the server's modules is held for runServer (a default SIGTERM would kill).
  let held: string | null = null;
  const hold = (signal: string) => void (held ??= signal);
  process.on('SIGTERM', hold).on('SIGINT', hold);
  const { runServer } = await import('./serve.js');
  process.off('SIGTERM', hold).off('SIGINT', hold);
  return runServer(config, log, held);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
