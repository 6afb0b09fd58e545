// Configuration from the environment, validated at boot with one message per bad value; secrets wrapped.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { Secret } from './secret.js';
import { DEFAULT_QUOTAS, type QuotaConfig } from './quotas.js';
import { DEFAULT_GATHER_TURNS, DEFAULT_LINGER_MS } from '../db/audit-batcher.js';
import { proxyTrust, type ForwardedHeader } from './protocol/forwarded.js';

export const DEFAULT_SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const DEV_TOKEN_LABEL = 'coffer-dev';

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const schema = z.object({
  COFFER_HOST: z.string().min(1).default('127.0.0.1'),
  COFFER_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  COFFER_DATA_DIR: z.string().min(1).default('.coffer'),
  DATABASE_URL: optional.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL'),
  DATABASE_URL_FILE: optional,
  COFFER_MIGRATION_DATABASE_URL: optional.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL'),
  COFFER_PKCS11_MODULE: optional,
  COFFER_PKCS11_TOKEN_LABEL: optional,
  COFFER_PKCS11_PIN: optional,
  COFFER_PKCS11_PIN_FILE: optional,
  COFFER_HSM_SESSIONS: z.coerce.number().int().min(1).max(256).optional(),
  COFFER_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must look like us-east-1').default('us-east-1'),
  COFFER_ACCOUNT_ID: z.string().regex(/^\d{12}$/, 'must be 12 digits').default('111122223333'),
  COFFER_ADMIN_ACCESS_KEY_ID: optional.refine((v) => v === undefined || /^[A-Z0-9]{20}$/.test(v), 'must be 20 upper-case letters or digits'),
  COFFER_ADMIN_SECRET_ACCESS_KEY: optional.refine((v) => v === undefined || /^[A-Za-z0-9/+]{40}$/.test(v), 'must be 40 base64 characters'),
  COFFER_DELETION_JOB_INTERVAL_SECONDS: z.coerce.number().min(0.1).max(86400).default(60),
  COFFER_AUDIT_CHECKPOINT_SECONDS: z.coerce.number().min(0.1).max(86400).default(300),
  COFFER_AUDIT_RETENTION_DAYS: z.coerce.number().min(0.0001).max(36500).optional(),
  COFFER_AUDIT_ARCHIVE_DIR: optional,
  COFFER_CONSOLE_DIR: optional,
  COFFER_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  COFFER_REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(600).default(30),
  COFFER_HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(600).default(10),
  COFFER_KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(65),
  COFFER_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(30),
  COFFER_FIPS_MODE: z.enum(['0', '1', 'true', 'false', '']).optional(),
  COFFER_QUOTA_SYMMETRIC_RPS: z.coerce.number().min(0).default(DEFAULT_QUOTAS.symmetric),
  COFFER_QUOTA_GENERATE_RANDOM_RPS: z.coerce.number().min(0).optional(),
  COFFER_QUOTA_ASYMMETRIC_RPS: z.coerce.number().min(0).default(DEFAULT_QUOTAS.asymmetric),
  COFFER_QUOTA_MANAGEMENT_RPS: z.coerce.number().min(0).default(DEFAULT_QUOTAS.management),
  COFFER_HSM_SYNC_MAX_BYTES: z.union([z.literal('auto'), z.coerce.number().int().min(0).max(65536)]).default('auto'),
  COFFER_HSM_HEAVY_CONCURRENCY: z.coerce.number().int().min(0).max(1024).optional(),
  COFFER_CREDENTIAL_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(1000),
  COFFER_AUDIT_GATHER_TURNS: z.coerce.number().int().min(0).max(64).default(DEFAULT_GATHER_TURNS),
  COFFER_AUDIT_LINGER_MS: z.coerce.number().int().min(0).max(100).default(DEFAULT_LINGER_MS),
  COFFER_METADATA_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(1000),
  COFFER_HELPER_THREAD_NICE: z.coerce.number().int().min(0).max(19).default(5),
  COFFER_TRUSTED_PROXIES: optional
    .transform((v) => (v === undefined ? [] : v.split(',').map((e) => e.trim()).filter((e) => e !== '')))
    .superRefine((entries, ctx) => {
      try {
        proxyTrust(entries);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `${(e as Error).message}: give IP addresses or CIDR ranges separated by commas` });
      }
    }),
  COFFER_FORWARDED_HEADER: z.enum(['x-forwarded-for', 'forwarded']).default('x-forwarded-for'),
  COFFER_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default('auto'),
  COFFER_KEY_STORE: z.enum(['token', 'wrapped']).default('wrapped'),
  COFFER_WRAPPED_KEY_CACHE: z.coerce.number().int().min(1).max(1_000_000).default(16_384),
  COFFER_DOMAIN_KEY_ROTATION_DAYS: z.coerce.number().min(0).max(36500).default(0),
});

export interface HsmConfig {
  /** Development token managed by Coffer in the data directory. */
  dev: boolean;
  modulePath: string;
  tokenLabel: string;
  /** Absent for the development token: its PIN is read from the data directory. */
  pin: Secret | null;
  sessions: number | undefined;
  /** AES-GCM and HMAC inputs up to this size, and P-256 signing while above 0, use synchronous PKCS#11 calls (hsm/pkcs11-hsm.ts); 0 = always async; 'auto': hsm/sync-calls.ts. */
  syncMaxBytes: number | 'auto';
  /** Concurrent RSA_3072/RSA_4096 private-key operations (hsm/heavy-ops.ts); undefined = cores - 1 for SoftHSM, else no cap; 0 = no cap. */
  heavyConcurrency: number | undefined;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: Secret | null;
  /** Migrations run over this (the schema owner) when set; DATABASE_URL may then be the unprivileged app role. */
  migrationDatabaseUrl: Secret | null;
  hsm: HsmConfig;
  region: string;
  accountId: string;
  admin: { accessKeyId: string; secretAccessKey: Secret } | null;
  deletionJobIntervalMs: number;
  /** Signed checkpoints of the audit chain head; retention (when a window is set) runs on the same timer. */
  audit: { checkpointIntervalMs: number; retentionDays: number | null; archiveDir: string };
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** A request must arrive whole (headers and body) within this; its headers within headersTimeoutMs. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /**
   * How long an idle keep-alive connection stays open. Longer than the idle timeouts of client pools (Node's 5 s,
   * Java's 60 s), so the client is the side that closes, never reusing a socket the server is closing at that moment.
   */
  keepAliveTimeoutMs: number;
  /** Bound on graceful shutdown: after it the process exits 1 with whatever is still in flight. */
  shutdownTimeoutMs: number;
  /** Refuse every non-approved fallback (see docs/hsm-profiles.md). */
  fipsMode: boolean;
  /** Requests per second per account and operation class; 0 = no quota. */
  quotas: QuotaConfig;
  /** How long a looked-up access key (its unsealed secret) is reused, at most 1 s; 0 = not cached. */
  credentialCacheMs: number;
  /** Event-loop turns an audit batch may wait for more events before it starts (db/audit-batcher.ts). */
  auditGatherTurns: number;
  auditLingerMs: number;
  /** How long key metadata, policies and grants read by requests that change nothing are reused (≤ 1000; 0: never). */
  metadataCacheMs: number;
  /**
   * Where key material lives (AES, HMAC, EC and RSA pairs): `token`, one token object per key version; `wrapped`, wrapped (AES-KWP) under a domain
   * key in the token and stored in the database, unwrapped on use into non-extractable session objects, at most
   * `wrappedKeyCache` of them held at once (hsm/wrapped-keys.ts).
   */
  keyStore: 'token' | 'wrapped';
  wrappedKeyCache: number;
  /** `wrapped` only: the rewrap job rotates the domain key once the active one is this many days old; 0: only on request. */
  domainKeyRotationDays: number;
  /** Server processes (node:cluster workers) sharing the port, the token and the database; 1: this process serves. */
  workers: number;
  /** Nice value of every thread but the event loop's (server/thread-priority.ts); 0 leaves them alone. */
  helperThreadNice: number;
  /** Proxies (addresses, CIDR ranges) whose forwarding header is believed (server/protocol/forwarded.ts). */
  trustedProxies: string[];
  /** The header those proxies set: X-Forwarded-For (with X-Forwarded-Proto) or RFC 7239's Forwarded. */
  forwardedHeader: ForwardedHeader;
  /** The web console's build, served under /console; null: the build's default place (dist/console). */
  consoleDir: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function readPin(env: z.output<typeof schema>, problems: string[]): Secret | null {
  if (env.COFFER_PKCS11_PIN !== undefined && env.COFFER_PKCS11_PIN_FILE !== undefined) {
    problems.push('COFFER_PKCS11_PIN and COFFER_PKCS11_PIN_FILE: set one, not both');
    return null;
  }
  if (env.COFFER_PKCS11_PIN !== undefined) return new Secret(env.COFFER_PKCS11_PIN);
  if (env.COFFER_PKCS11_PIN_FILE === undefined) return null;
  try {
    return new Secret(readFileSync(env.COFFER_PKCS11_PIN_FILE, 'utf8').trim());
  } catch (e) {
    problems.push(`COFFER_PKCS11_PIN_FILE: cannot read ${env.COFFER_PKCS11_PIN_FILE} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return null;
  }
}

function databaseUrl(env: z.output<typeof schema>, problems: string[]): Secret | null {
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL_FILE !== undefined) {
    problems.push('DATABASE_URL and DATABASE_URL_FILE: set one, not both');
    return null;
  }
  if (env.DATABASE_URL !== undefined) return new Secret(env.DATABASE_URL);
  if (env.DATABASE_URL_FILE === undefined) return null;
  let url: string;
  try {
    url = readFileSync(env.DATABASE_URL_FILE, 'utf8').trim();
  } catch (e) {
    problems.push(`DATABASE_URL_FILE: cannot read ${env.DATABASE_URL_FILE} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return null;
  }
  if (!/^postgres(ql)?:\/\//.test(url)) problems.push('DATABASE_URL_FILE: must hold a postgres:// or postgresql:// URL');
  return new Secret(url);
}

function hsmConfig(env: z.output<typeof schema>, problems: string[]): HsmConfig {
  const pin = readPin(env, problems);
  if (env.COFFER_PKCS11_MODULE === undefined) {
    if (pin) problems.push('COFFER_PKCS11_PIN(_FILE): set only together with COFFER_PKCS11_MODULE');
    return { dev: true, modulePath: DEFAULT_SOFTHSM_MODULE, tokenLabel: env.COFFER_PKCS11_TOKEN_LABEL ?? DEV_TOKEN_LABEL, pin: null, sessions: env.COFFER_HSM_SESSIONS, syncMaxBytes: env.COFFER_HSM_SYNC_MAX_BYTES, heavyConcurrency: env.COFFER_HSM_HEAVY_CONCURRENCY };
  }
  if (env.COFFER_PKCS11_TOKEN_LABEL === undefined) problems.push('COFFER_PKCS11_TOKEN_LABEL: required with COFFER_PKCS11_MODULE');
  if (pin === null && !problems.some((p) => p.startsWith('COFFER_PKCS11_PIN'))) {
    problems.push('COFFER_PKCS11_PIN or COFFER_PKCS11_PIN_FILE: required with COFFER_PKCS11_MODULE');
  }
  return { dev: false, modulePath: env.COFFER_PKCS11_MODULE, tokenLabel: env.COFFER_PKCS11_TOKEN_LABEL ?? '', pin, sessions: env.COFFER_HSM_SESSIONS, syncMaxBytes: env.COFFER_HSM_SYNC_MAX_BYTES, heavyConcurrency: env.COFFER_HSM_HEAVY_CONCURRENCY };
}

/** The values that parse on their own, so cross-field rules can still be checked when another field is bad. */
function fieldByField(source: NodeJS.ProcessEnv): z.output<typeof schema> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const r = (field as z.ZodType).safeParse(source[name]);
    if (r.success) out[name] = r.data;
  }
  return out as z.output<typeof schema>;
}

/** At most this many workers by default: each holds about a dozen Postgres connections (pool of 10, listeners). */
export const AUTO_WORKERS_MAX = 4;

/**
 * COFFER_WORKERS=auto (the default): one worker per core, at most AUTO_WORKERS_MAX, when Postgres is configured;
 * one process on PGlite, which only one process can open. Two workers on this 2-core machine served Encrypt 1.2x
 * and GenerateRandom 1.25-1.4x the requests of one (bench/ab-workers-quiet-2.txt).
 */
function workersFor(value: 'auto' | number | undefined, postgres: boolean): number {
  if (typeof value === 'number') return value;
  return postgres ? Math.max(1, Math.min(availableParallelism(), AUTO_WORKERS_MAX)) : 1;
}

/** Parses the environment; throws ConfigError listing every bad value (never a secret's value). */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(source);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  // Cross-field rules are checked on the raw values too, so every problem is reported at once.
  const env = parsed.success ? parsed.data : fieldByField(source);
  const hsm = hsmConfig(env, problems);
  const dbUrl = databaseUrl(env, problems);
  if ((env.COFFER_ADMIN_ACCESS_KEY_ID === undefined) !== (env.COFFER_ADMIN_SECRET_ACCESS_KEY === undefined)) {
    problems.push('COFFER_ADMIN_ACCESS_KEY_ID and COFFER_ADMIN_SECRET_ACCESS_KEY: set both or neither');
  }
  if (typeof env.COFFER_WORKERS === 'number' && env.COFFER_WORKERS > 1 && dbUrl === null) {
    problems.push('COFFER_WORKERS: more than 1 needs Postgres (DATABASE_URL); PGlite cannot be shared by processes');
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return {
    host: env.COFFER_HOST,
    port: env.COFFER_PORT,
    dataDir: resolve(env.COFFER_DATA_DIR),
    databaseUrl: dbUrl,
    migrationDatabaseUrl: env.COFFER_MIGRATION_DATABASE_URL ? new Secret(env.COFFER_MIGRATION_DATABASE_URL) : null,
    hsm,
    region: env.COFFER_REGION,
    accountId: env.COFFER_ACCOUNT_ID,
    admin:
      env.COFFER_ADMIN_ACCESS_KEY_ID && env.COFFER_ADMIN_SECRET_ACCESS_KEY
        ? { accessKeyId: env.COFFER_ADMIN_ACCESS_KEY_ID, secretAccessKey: new Secret(env.COFFER_ADMIN_SECRET_ACCESS_KEY) }
        : null,
    deletionJobIntervalMs: env.COFFER_DELETION_JOB_INTERVAL_SECONDS * 1000,
    audit: {
      checkpointIntervalMs: env.COFFER_AUDIT_CHECKPOINT_SECONDS * 1000,
      retentionDays: env.COFFER_AUDIT_RETENTION_DAYS ?? null,
      archiveDir: resolve(env.COFFER_AUDIT_ARCHIVE_DIR ?? `${env.COFFER_DATA_DIR}/audit-archive`),
    },
    logLevel: env.COFFER_LOG_LEVEL,
    requestTimeoutMs: env.COFFER_REQUEST_TIMEOUT_SECONDS * 1000,
    headersTimeoutMs: Math.min(env.COFFER_HEADERS_TIMEOUT_SECONDS, env.COFFER_REQUEST_TIMEOUT_SECONDS) * 1000,
    keepAliveTimeoutMs: env.COFFER_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    shutdownTimeoutMs: env.COFFER_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    fipsMode: env.COFFER_FIPS_MODE === '1' || env.COFFER_FIPS_MODE === 'true',
    quotas: {
      symmetric: env.COFFER_QUOTA_SYMMETRIC_RPS,
      generateRandom: env.COFFER_QUOTA_GENERATE_RANDOM_RPS ?? null,
      asymmetric: env.COFFER_QUOTA_ASYMMETRIC_RPS,
      management: env.COFFER_QUOTA_MANAGEMENT_RPS,
    },
    credentialCacheMs: env.COFFER_CREDENTIAL_CACHE_MS,
    auditGatherTurns: env.COFFER_AUDIT_GATHER_TURNS,
    auditLingerMs: env.COFFER_AUDIT_LINGER_MS,
    metadataCacheMs: env.COFFER_METADATA_CACHE_MS,
    workers: workersFor(env.COFFER_WORKERS, dbUrl !== null),
    helperThreadNice: env.COFFER_HELPER_THREAD_NICE,
    trustedProxies: env.COFFER_TRUSTED_PROXIES,
    forwardedHeader: env.COFFER_FORWARDED_HEADER,
    keyStore: env.COFFER_KEY_STORE,
    wrappedKeyCache: env.COFFER_WRAPPED_KEY_CACHE,
    domainKeyRotationDays: env.COFFER_DOMAIN_KEY_ROTATION_DAYS,
    consoleDir: env.COFFER_CONSOLE_DIR === undefined ? null : resolve(env.COFFER_CONSOLE_DIR),
  };
}
