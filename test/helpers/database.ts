// Test databases: a fresh Postgres database (TEST_DATABASE_URL's server, the local server, or testcontainers), else PGlite.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import postgres from 'postgres';

export const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  kind: 'postgres' | 'pglite';
  /** Where it came from, for messages. */
  source: 'env' | 'local' | 'testcontainers' | 'pglite';
  /** Connection URL; undefined for PGlite (open it in memory). */
  url: string | undefined;
  /** Drops the database (or stops the container). Idempotent. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Fall back to in-memory PGlite when no Postgres answers (default true). */
  allowPglite?: boolean;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates `coffer_test_<random>` on the server of `adminUrl`; null when the server does not answer or refuses. */
async function createOn(adminUrl: string, source: TestDatabase['source']): Promise<TestDatabase | null> {
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  const name = `coffer_test_${randomBytes(6).toString('hex')}`;
  try {
    await admin.unsafe(`create database ${name}`);
  } catch {
    await admin.end({ timeout: 1 }).catch(() => {});
    return null;
  }
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    try {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  };
  return { kind: 'postgres', source, url: withDatabase(adminUrl, name), drop };
}

/** TEST_DATABASE_URL: a fresh database on its server when allowed, else the database itself (never dropped). */
async function fromEnv(url: string): Promise<TestDatabase> {
  const created = await createOn(url, 'env');
  return created ?? { kind: 'postgres', source: 'env', url, drop: async () => {} };
}

function dockerEngineLikely(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function fromTestcontainers(): Promise<TestDatabase | null> {
  if (!dockerEngineLikely()) return null;
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('postgres:15-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    const url = `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
    let stopped = false;
    const drop = async () => {
      if (stopped) return;
      stopped = true;
      await container.stop();
    };
    return { kind: 'postgres', source: 'testcontainers', url, drop };
  } catch {
    return null;
  }
}

/**
 * A fresh test database: TEST_DATABASE_URL, else the local server on 127.0.0.1:5432 when it answers,
 * else a testcontainers Postgres when a Docker engine exists, else in-memory PGlite (unless disallowed: null).
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase | null> {
  const envUrl = process.env.TEST_DATABASE_URL;
  if (envUrl) return fromEnv(envUrl);
  const found = (await createOn(LOCAL_ADMIN_URL, 'local')) ?? (await fromTestcontainers());
  if (found) return found;
  if (options.allowPglite === false) return null;
  return { kind: 'pglite', source: 'pglite', url: undefined, drop: async () => {} };
}

/** Runs `fn` with a fresh test database and drops it afterwards. */
export async function withTestDatabase<T>(fn: (db: TestDatabase) => Promise<T>, options?: TestDatabaseOptions): Promise<T> {
  const db = await createTestDatabase(options);
  if (!db) throw new Error('No test database is available.');
  try {
    return await fn(db);
  } finally {
    await db.drop();
  }
}
