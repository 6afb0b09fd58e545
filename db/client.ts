// Opens the database: Postgres through postgres.js when a URL is given, else PGlite (on disk or in memory).
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite, type PgliteDatabase } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** What repositories run on: the database itself or a transaction (both drivers share this type). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface DatabaseOptions {
  /** postgres://… ; when absent PGlite is used. */
  url?: string;
  /**
   * Postgres only: run the migrations over this connection (the schema owner) instead of `url`, so the server
   * itself can connect as a role without DDL rights (one granted coffer_app: see README, "Database roles").
   */
  migrationUrl?: string;
  /** PGlite data directory; in memory when undefined. Ignored when url is set. */
  pgliteDir?: string;
}

interface DatabaseBase {
  db: Db;
  close(): Promise<void>;
}

export interface PostgresDatabase extends DatabaseBase {
  kind: 'postgres';
  /** The driver-specific handles, for the migrator and the advisory lock. */
  native: PostgresJsDatabase<Schema>;
  client: postgres.Sql;
  /**
   * One connection of its own for the token-writes lock (db/job-lock.ts exclusive): the writers waiting for that lock
   * are requests whose transactions hold the pool's connections, so a lock taken on a pool connection could wait for
   * a connection only those waiters can free (ten concurrent asymmetric CreateKeys wedged a worker for good).
   */
  lockClient: postgres.Sql;
}

export interface PgliteHandle extends DatabaseBase {
  kind: 'pglite';
  native: PgliteDatabase<Schema>;
  client: PGlite;
}

export type Database = PostgresDatabase | PgliteHandle;

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) return openPostgres(options.url);
  return openPglite(options.pgliteDir);
}

function openPostgres(url: string): PostgresDatabase {
  const client = postgres(url, { max: 10, connect_timeout: 10, idle_timeout: 30, onnotice: () => {} });
  const lockClient = postgres(url, { max: 1, connect_timeout: 10, idle_timeout: 30, onnotice: () => {} });
  const native = drizzlePostgres({ client, schema });
  const close = async () => {
    await Promise.all([client.end({ timeout: 5 }), lockClient.end({ timeout: 5 })]);
  };
  return { kind: 'postgres', db: native, native, client, lockClient, close };
}

async function openPglite(dataDir: string | undefined): Promise<PgliteHandle> {
  const client = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  await client.waitReady;
  const native = drizzlePglite({ client, schema });
  const close = async () => {
    if (!client.closed) await client.close();
  };
  return { kind: 'pglite', db: native, native, client, close };
}
