// Cluster-wide exclusion for background jobs: a Postgres advisory lock tried (never waited for) on a reserved
// connection, so a job runs in at most one instance at a time; a crashed holder's lock goes with its connection.
import type { Database } from './client.js';
import { guard } from './errors.js';

/** The first key of the two-key advisory lock space reserved for jobs ("cjob"); the second is hashtext(name). */
export const JOB_LOCK_CLASS = 0x636a6f62;

export type Exclusive<T> = { ran: true; value: T } | { ran: false };

// PGlite is one process: an in-process set of held names is the whole cluster.
const pgliteHeld = new WeakMap<object, Set<string>>();

export async function tryExclusive<T>(database: Database, name: string, fn: () => Promise<T>): Promise<Exclusive<T>> {
  if (database.kind === 'pglite') {
    const held = pgliteHeld.get(database.client) ?? new Set<string>();
    pgliteHeld.set(database.client, held);
    if (held.has(name)) return { ran: false };
    held.add(name);
    try {
      return { ran: true, value: await fn() };
    } finally {
      held.delete(name);
    }
  }
  const conn = await guard(() => database.client.reserve());
  try {
    const rows = await guard(() => conn`select pg_try_advisory_lock(${JOB_LOCK_CLASS}::int, hashtext(${name})) as ok`);
    if (rows[0]?.ok !== true) return { ran: false };
    try {
      return { ran: true, value: await fn() };
    } finally {
      await conn`select pg_advisory_unlock(${JOB_LOCK_CLASS}::int, hashtext(${name}))`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

/** The first key of the advisory lock space for writes to a shared token ("ctok"); the second is hashtext(name). */
export const TOKEN_LOCK_CLASS = 0x63746f6b;

/** How long a writer waits for another process's token write before its own fails. */
const TOKEN_LOCK_WAIT_MS = 30_000;

/**
 * Runs fn while holding the cluster-wide lock `name`, waiting for it (at most TOKEN_LOCK_WAIT_MS): processes sharing
 * one token (COFFER_WORKERS, instances) create and destroy token objects one at a time, as one process already does.
 * A session lock on a reserved connection, so a crashed holder's lock goes with its connection. PGlite is one process:
 * fn runs at once (the caller serialises within its process).
 */
export async function exclusive<T>(database: Database, name: string, fn: () => Promise<T>): Promise<T> {
  if (database.kind === 'pglite') return fn();
  const conn = await guard(() => database.lockClient.reserve());
  try {
    await guard(() => conn`select set_config('lock_timeout', ${`${TOKEN_LOCK_WAIT_MS}ms`}, false)`);
    await guard(() => conn`select pg_advisory_lock(${TOKEN_LOCK_CLASS}::int, hashtext(${name}))`);
    try {
      return await fn();
    } finally {
      await conn`select pg_advisory_unlock(${TOKEN_LOCK_CLASS}::int, hashtext(${name}))`.catch(() => {});
    }
  } finally {
    await conn`select set_config('lock_timeout', '0', false)`.catch(() => {});
    conn.release();
  }
}
