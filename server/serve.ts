// The composition root of one serving process: token, database, administrator, background jobs, HTTP, graceful
// shutdown. server/main.ts loads it only in a process that serves (not in the COFFER_WORKERS supervisor).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { eventIdsFrom } from '../core/event-id.js';
import { systemClock } from '../core/ports.js';
import { policyAuthorizer } from '../core/policy/authorizer.js';
import cluster from 'node:cluster';
import type { AuditAppender } from '../core/ports.js';
import type { ServiceDeps } from '../core/services/context.js';
import { lookupCredential } from '../core/services/credentials.js';
import { cachedCredentialLookup } from '../core/services/credential-cache.js';
import { DrizzleUnitOfWork } from '../db/index.js';
import { defaultSyncMaxBytes, ensureDevToken, openHsm, type Pkcs11Hsm } from '../hsm/index.js';
import { createApp } from './app.js';
import { defaultConsoleDir } from './console.js';
import { ensureBootstrapAdmin } from './bootstrap.js';
import type { Config } from './config.js';
import { startDeletionJob, startRewrapJob, startRotationJob, type Job } from './jobs.js';
import { startAuditJob } from './audit-jobs.js';
import { describeError, serveOnUnhandledRejections, type Logger } from './log.js';
import { meteredUnitOfWork } from './metered-uow.js';
import { cachedUnitOfWork, proveFeed } from './cached-uow.js';
import { MetadataCache } from '../core/services/metadata-cache.js';
import { Metrics } from './metrics.js';
import { checkReadiness } from './readiness.js';
import { startBenchStats } from './bench-stats.js';
import { proxyTrust } from './protocol/forwarded.js';
import { QuotaLimiter, quotaShare } from './quotas.js';
import { workerMetrics } from './cluster-metrics.js';
import { lowerHelperThreads, startThreadPool } from './thread-priority.js';

export interface RunningServer {
  url: string;
  metrics: Metrics;
  /** Graceful: stop accepting, finish in-flight requests (their audit events commit with them), stop jobs, close sessions. */
  close(): Promise<void>;
}

async function openToken(config: Config): Promise<Pkcs11Hsm> {
  const h = config.hsm;
  const token = h.dev
    ? await ensureDevToken({ dataDir: config.dataDir, label: h.tokenLabel, modulePath: h.modulePath })
    : { modulePath: h.modulePath, tokenLabel: h.tokenLabel, pin: (h.pin as NonNullable<typeof h.pin>).reveal() };
  const syncMaxBytes = h.syncMaxBytes === 'auto' ? defaultSyncMaxBytes(h.modulePath, config.workers) : h.syncMaxBytes;
  return openHsm({ ...token, fipsMode: config.fipsMode, ...(h.sessions ? { poolSize: h.sessions } : {}), syncMaxBytes, ...(h.heavyConcurrency !== undefined ? { heavyConcurrency: h.heavyConcurrency } : {}) });
}

function listen(app: ReturnType<typeof createApp>, config: Config): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve, reject) => {
    // Slow or stalled clients are cut off (Node answers 408 and closes); the check runs every second.
    const serverOptions = { requestTimeout: config.requestTimeoutMs, headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000 };
    const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port, serverOptions }, (info) => {
      resolve({ server, url: `http://${config.host}:${info.port}` });
    });
    // Node's default is 5 s: a pooled client socket idle that long could be reused just as the server closed it.
    (server as ServerType & { keepAliveTimeout: number }).keepAliveTimeout = config.keepAliveTimeoutMs;
    server.once('error', (e: NodeJS.ErrnoException) => {
      const what = e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${e.code ?? 'error'})`;
      reject(new Error(`${config.host}:${config.port} ${what}: set COFFER_PORT or COFFER_HOST`));
    });
  });
}

async function openDatabaseFor(config: Config, hsm: Pkcs11Hsm): Promise<DrizzleUnitOfWork> {
  try {
    return await DrizzleUnitOfWork.open(
      config.databaseUrl
        ? { url: config.databaseUrl.reveal(), ...(config.migrationDatabaseUrl ? { migrationUrl: config.migrationDatabaseUrl.reveal() } : {}) }
        : { pgliteDir: join(config.dataDir, 'pglite') },
      { auditGatherTurns: config.auditGatherTurns, auditLingerMs: config.auditLingerMs },
    );
  } catch (e) {
    await hsm.close();
    throw e;
  }
}

/** A start-up step after the database opened: when it fails, the token and the database are closed before it throws. */
async function orClose(hsm: Pkcs11Hsm, uow: DrizzleUnitOfWork, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    await hsm.close();
    await uow.close();
    throw e;
  }
}

async function selfTest(hsm: Pkcs11Hsm, config: Config, log: Logger) {
  const result = await hsm.selfTest();
  if (result.passed) log.info('HSM known-answer self-test passed', { checks: result.checks });
  else log.error('HSM known-answer self-test FAILED: not ready', { checks: result.checks });
  const disabled = hsm.fips.disabled(hsm.capabilities);
  if (config.fipsMode) {
    log.info('FIPS mode: non-approved fallbacks are refused', {
      disabled: disabled.length ? disabled : 'none (this token needs no fallback for the operations Coffer offers)',
    });
  }
  return result;
}

function registerGauges(metrics: Metrics, hsm: Pkcs11Hsm, audit: AuditAppender): void {
  metrics.gauge({ name: 'coffer_audit_queue_depth', help: 'Audit events waiting for, or inside, a group commit (requests wait for theirs).', read: () => audit.depth });
  metrics.gauge({ name: 'coffer_audit_batches_total', help: 'Group commits of audit events made outside state changes (with coffer_audit_writes_total: the mean batch size).', read: () => audit.batches, type: 'counter' });
  const pool = hsm.pool;
  metrics.gauge({ name: 'coffer_hsm_sessions_in_use', help: 'Token sessions checked out by an operation.', read: () => pool.inUseCount });
  metrics.gauge({ name: 'coffer_hsm_sessions_open', help: 'Token sessions open (idle or in use).', read: () => pool.openCount });
  metrics.gauge({ name: 'coffer_hsm_sessions_max', help: 'Size of the token session pool.', read: () => pool.size });
  metrics.gauge({ name: 'coffer_hsm_unwrapped_keys', help: 'Unwrapped root keys held in the token (COFFER_KEY_STORE=wrapped; 0 otherwise).', read: () => hsm.unwrappedKeys ?? 0 });
  metrics.gauge({ name: 'coffer_hsm_sessions_dropped_total', help: 'Token sessions dropped after a failure and replaced.', read: () => pool.dropped, type: 'counter' });
}

/** Stops accepting, closes idle keep-alive connections as they appear, resolves once every connection ended. */
function drain(server: ServerType): Promise<void> {
  const http = server as ServerType & { closeIdleConnections?: () => void };
  const closed = new Promise<void>((r) => server.close(() => r()));
  http.closeIdleConnections?.();
  const sweeper = setInterval(() => http.closeIdleConnections?.(), 50);
  return closed.finally(() => clearInterval(sweeper));
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const hsm = await openToken(config);
  const selfTestResult = await selfTest(hsm, config, log);
  if (config.helperThreadNice > 0) {
    await startThreadPool();
    log.info('helper threads lowered', { threads: lowerHelperThreads(config.helperThreadNice), nice: config.helperThreadNice });
  }
  const uow = await openDatabaseFor(config, hsm);
  // Token object writes one at a time across every process on this token and database (workers, instances).
  hsm.serializeWritesWith((fn) => uow.exclusive('token-writes', fn));
  // The token's first object when it is fresh: created under that lock, so instances starting together make one.
  await orClose(hsm, uow, () => hsm.loadCredentialKey());
  if (config.keyStore === 'wrapped') await orClose(hsm, uow, () => hsm.useWrappedKeys(uow.wrappedKeys, config.wrappedKeyCache));
  const metrics = new Metrics();
  uow.auditAppender.countInFlight(() => metrics.requestsInFlight);
  registerGauges(metrics, hsm, uow.auditAppender);
  const credentials = cachedCredentialLookup((id) => lookupCredential(uow, hsm, id), config.credentialCacheMs);
  const metadata = new MetadataCache(config.metadataCacheMs);
  const feed = uow.changes;
  const probeFailed = (e: unknown) => log.warn('change feed probe not sent; cached metadata now expires within its TTL', { error: describeError(e) });
  const stopProbing = await proveFeed(feed, metadata, Math.max(50, config.metadataCacheMs / 4), probeFailed);
  let rewrapJob: Job | null = null;
  const services: ServiceDeps = {
    uow: meteredUnitOfWork(cachedUnitOfWork(uow, metadata, feed), metrics),
    hsm,
    clock: systemClock,
    authorizer: policyAuthorizer,
    region: config.region,
    newId: randomUUID,
    newEventId: eventIdsFrom(randomBytes),
    systemAccountId: config.accountId,
    credentialsChanged: (id) => credentials.invalidate(id),
    domainKeyRotated: () => void rewrapJob?.runNow(),
  };
  await ensureBootstrapAdmin(config, services, log);
  let shuttingDown = false;
  const app = createApp({
    services,
    log,
    metrics,
    renderMetrics: cluster.isWorker ? workerMetrics(metrics) : undefined,
    lookupCredential: credentials,
    trustProxy: proxyTrust(config.trustedProxies),
    forwardedHeader: config.forwardedHeader,
    // Each worker admits its share, so the workers together admit the configured rate.
    quotas: new QuotaLimiter(quotaShare(config.quotas, cluster.isWorker ? config.workers : 1)),
    consoleDir: config.consoleDir ?? defaultConsoleDir(),
    health: async () => ({ hsm: await hsm.healthy(), database: await uow.healthy() }),
    readiness: () =>
      checkReadiness({
        tokenLoggedIn: () => hsm.healthy(),
        selfTest: selfTestResult,
        databaseReachable: () => uow.healthy(),
        migrationsCurrent: () => uow.migrationsCurrent(),
        shuttingDown: () => shuttingDown,
      }),
  });
  const { server, url } = await listen(app, config);
  const job = startDeletionJob(services, config.deletionJobIntervalMs, log);
  const auditJob = startAuditJob(services, config.audit, log);
  const rotationJob = startRotationJob(services, config.deletionJobIntervalMs, log);
  const domainKeys = hsm.domainKeys;
  rewrapJob = domainKeys === null ? null : startRewrapJob(services, domainKeys, config.domainKeyRotationDays, config.deletionJobIntervalMs, uow, log);
  log.info('listening', { url, region: config.region, accountId: config.accountId, database: uow.kind, fipsMode: config.fipsMode, keyStore: config.keyStore, wrappedKeyPairs: hsm.wrapsKeyPairs, hsmSyncMaxBytes: hsm.syncMaxBytes });
  return {
    url,
    metrics,
    close: async () => {
      shuttingDown = true;
      await Promise.all([drain(server), job.stop(), auditJob.stop(), rotationJob.stop(), rewrapJob?.stop()]);
      stopProbing();
      log.info('drained: no request in flight, jobs stopped');
      await hsm.close();
      await uow.close();
    },
  };
}

/** Serves until SIGTERM or SIGINT, then shuts down gracefully and exits. */
export async function runServer(config: Config, log: Logger, heldSignal: string | null = null): Promise<void> {
  // A signal that arrives while the server starts (a supervisor stopping a worker it has just forked, an operator's
  // Ctrl-C) is held and honoured once the start-up ends: a graceful stop, never a kill halfway through opening the
  // token or migrating.
  let held: string | null = heldSignal;
  let stop = (signal: string) => void (held ??= signal);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  serveOnUnhandledRejections(process, log);
  const benchStats = startBenchStats(process.env, log);
  let running: RunningServer;
  try {
    running = await startServer(config, log);
  } catch (e) {
    // Start-up errors are ours (configuration, token, port) or wrapped KmsErrors: their messages are safe to show.
    log.error('start-up failed', { reason: e instanceof Error ? e.message : String(e), error: describeError(e) });
    process.exit(1);
  }
  let stopping = false;
  stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal, timeoutSeconds: config.shutdownTimeoutMs / 1000 });
    const force = setTimeout(() => {
      log.error('shutdown did not finish in time: exiting with work in flight', { timeoutSeconds: config.shutdownTimeoutMs / 1000 });
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    running.close().then(
      () => {
        log.info('shut down cleanly');
        benchStats();
        process.exit(0);
      },
      (e) => {
        log.error('shutdown failed', { error: describeError(e) });
        process.exit(1);
      },
    );
  };
  if (held !== null) stop(held);
}
