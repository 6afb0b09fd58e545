// The composition root: configuration, token, database, administrator, background jobs, HTTP, graceful shutdown.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { ownerOnlyAuthorizer } from '../core/authorization.js';
import { systemClock } from '../core/ports.js';
import type { ServiceDeps } from '../core/services/context.js';
import { lookupCredential } from '../core/services/credentials.js';
import { cachedCredentialLookup } from '../core/services/credential-cache.js';
import { DrizzleUnitOfWork } from '../db/index.js';
import { ensureDevToken, openHsm, type Pkcs11Hsm } from '../hsm/index.js';
import { createApp } from './app.js';
import { ensureBootstrapAdmin } from './bootstrap.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startDeletionJob } from './jobs.js';
import { createLogger, describeError, type Logger } from './log.js';
import { startBenchStats } from './bench-stats.js';
import { QuotaLimiter } from './quotas.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

async function openToken(config: Config): Promise<Pkcs11Hsm> {
  const h = config.hsm;
  const token = h.dev
    ? await ensureDevToken({ dataDir: config.dataDir, label: h.tokenLabel, modulePath: h.modulePath })
    : { modulePath: h.modulePath, tokenLabel: h.tokenLabel, pin: (h.pin as NonNullable<typeof h.pin>).reveal() };
  return openHsm({ ...token, ...(h.sessions ? { poolSize: h.sessions } : {}), syncMaxBytes: h.syncMaxBytes });
}

function listen(app: ReturnType<typeof createApp>, config: Config): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
      resolve({ server, url: `http://${config.host}:${info.port}` });
    });
    server.once('error', reject);
  });
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const hsm = await openToken(config);
  let uow: DrizzleUnitOfWork;
  try {
    uow = await DrizzleUnitOfWork.open(
      config.databaseUrl ? { url: config.databaseUrl.reveal() } : { pgliteDir: join(config.dataDir, 'pglite') },
    );
  } catch (e) {
    await hsm.close();
    throw e;
  }
  const services: ServiceDeps = {
    uow,
    hsm,
    clock: systemClock,
    authorizer: ownerOnlyAuthorizer,
    region: config.region,
    newId: randomUUID,
  };
  await ensureBootstrapAdmin(config, services, log);
  const app = createApp({
    services,
    log,
    lookupCredential: cachedCredentialLookup((id) => lookupCredential(uow, hsm, id), config.credentialCacheMs),
    health: async () => ({ hsm: await hsm.healthy(), database: await uow.healthy() }),
    quotas: new QuotaLimiter(config.quotas),
  });
  const { server, url } = await listen(app, config);
  const job = startDeletionJob(services, config.deletionJobIntervalMs, log);
  log.info('listening', { url, region: config.region, accountId: config.accountId, database: uow.kind });
  return {
    url,
    close: async () => {
      await job.stop();
      await new Promise<void>((r) => server.close(() => r()));
      await uow.close();
      await hsm.close();
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : 'Invalid configuration'}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  const benchStats = startBenchStats(process.env, log);
  let running: RunningServer;
  try {
    running = await startServer(config, log);
  } catch (e) {
    log.error('start-up failed', { error: describeError(e) });
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    running.close().then(
      () => {
        benchStats();
        process.exit(0);
      },
      (e) => {
        log.error('shutdown failed', { error: describeError(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
