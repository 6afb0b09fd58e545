// A UnitOfWork decorator serving the hot reads (outside transactions) from the MetadataCache. A transaction that wrote
// anything the cache may hold announces what it touched (its scopes) through the ChangeFeed from inside the
// transaction, so the notice goes out exactly when it commits, and clears those scopes here before its answer goes
// out. A prober keeps proving the feed current, which lets entries outlive their TTL (core/services/metadata-cache.ts).
import type { ChangeFeed, Repositories, UnitOfWork } from '../core/ports.js';
import { cachedRepositories, scopesOfWrite, type MetadataCache } from '../core/services/metadata-cache.js';

/** Repository methods that only read (or lock to read); a call to any other method inside a transaction is a write. */
const READS = new Set([
  'get', 'list', 'findById', 'lockForUpdate', 'getVersion', 'listVersions', 'count', 'byToken', 'listForKey', 'listRetirable',
  'listForPrincipal', 'getSettings', 'countOnDemand', 'claimDueForDeletion', 'claimDueForRotation', 'claimExpired',
  'claimSpentWrappingKey',
]);

type Wrote = (repo: string, method: string, args: unknown[]) => void;

/** The transaction's repositories, calling `wrote` before any write other than an audit event. */
function watched(repos: Repositories, wrote: Wrote): Repositories {
  const out: Record<string, unknown> = {};
  for (const [name, repo] of Object.entries(repos) as [string, object][]) {
    if (name === 'audit') {
      out[name] = repo;
      continue;
    }
    out[name] = new Proxy(repo, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (!READS.has(String(prop))) wrote(name, String(prop), args);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }
  return out as unknown as Repositories;
}

export function cachedUnitOfWork(uow: UnitOfWork, cache: MetadataCache, feed: ChangeFeed): UnitOfWork {
  return {
    repos: cachedRepositories(uow.repos, cache),
    async transaction(fn) {
      // undefined: nothing cached was touched; null: anything may have been.
      let touched: Set<string> | null | undefined;
      const wrote: Wrote = (repo, method, args) => {
        const scopes = scopesOfWrite(repo, method, args);
        if (scopes === null) touched = null;
        else if (touched !== null && scopes.length > 0) for (const s of scopes) (touched ??= new Set()).add(s);
      };
      const scopes = () => (touched === null ? null : [...(touched ?? [])]);
      try {
        return await uow.transaction(async (repos) => {
          const result = await fn(watched(repos, wrote));
          if (touched !== undefined) await feed.announce(scopes());
          return result;
        });
      } finally {
        if (touched !== undefined) cache.invalidate(scopes());
      }
    },
    healthy: () => uow.healthy(),
    close: () => uow.close(),
  };
}

/**
 * Keeps proving the change feed current: every `intervalMs` a probe stamped with the cache's clock goes out, and
 * the listener marks the cache proven as of that stamp when it comes back. Returns a stop function.
 */
export async function proveFeed(feed: ChangeFeed, cache: MetadataCache, intervalMs: number, onError: (e: unknown) => void): Promise<() => void> {
  await feed.listen(
    (scopes) => cache.invalidate(scopes),
    (sentAt) => cache.proven(sentAt),
  );
  if (cache.ttlMs <= 0) return () => undefined;
  let failing = false;
  // One probe at a time: while the database is down a probe waits for the driver's connect timeout, and probes
  // piling up behind it would crowd out the requests' own queries.
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    feed
      .probe(cache.clock())
      .then(
        () => (failing = false),
        (e: unknown) => {
          // Without probes entries expire within the TTL, as in a plain TTL cache: report once per failing stretch.
          if (!failing) onError(e);
          failing = true;
        },
      )
      .finally(() => (inFlight = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
