// A UnitOfWork decorator serving the hot reads (outside transactions) from the MetadataCache, and clearing it
// after any transaction that wrote anything but audit events: here at once (before the answer goes out), on the
// other instances through the ChangeFeed. A lost notice is covered by the cache's expiry (≤ 1 s).
import type { ChangeFeed, Repositories, UnitOfWork } from '../core/ports.js';
import { cachedRepositories, type MetadataCache } from '../core/services/metadata-cache.js';

/** Repository methods that only read (or lock to read); a call to any other method inside a transaction is a write. */
const READS = new Set([
  'get', 'list', 'findById', 'getVersion', 'listVersions', 'count', 'byToken', 'listForKey', 'listRetirable',
  'listForPrincipal', 'getSettings', 'countOnDemand', 'claimDueForDeletion', 'claimDueForRotation', 'claimExpired',
  'claimSpentWrappingKey',
]);

/** The transaction's repositories, calling `wrote` before any write other than an audit event. */
function watched(repos: Repositories, wrote: () => void): Repositories {
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
          if (!READS.has(String(prop))) wrote();
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }
  return out as unknown as Repositories;
}

export function cachedUnitOfWork(uow: UnitOfWork, cache: MetadataCache, feed: ChangeFeed, onFeedError: (e: unknown) => void): UnitOfWork {
  return {
    repos: cachedRepositories(uow.repos, cache),
    async transaction(fn) {
      let changed = false;
      try {
        return await uow.transaction((repos) => fn(watched(repos, () => (changed = true))));
      } finally {
        if (changed) {
          cache.invalidate();
          await feed.announce().catch(onFeedError);
        }
      }
    },
    healthy: () => uow.healthy(),
    close: () => uow.close(),
  };
}
