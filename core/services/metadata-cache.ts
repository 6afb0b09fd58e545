// A short-lived cache of what the cryptographic path reads on every request: keys, key versions, aliases, key
// policies, grants and identity policies. Without it each Encrypt costs several queries. Staleness is bounded:
// an entry lives at most ttlMs (≤ 1 s by configuration) even if no invalidation reaches it; every committed change
// in this process clears the cache before its answer goes out, and changes of other instances clear it when their
// notification arrives (server/cached-uow.ts). Not-found answers are never kept; concurrent misses share one read.
import type { Repositories } from '../ports.js';

interface Entry {
  value: Promise<unknown>;
  expires: number;
}

const MAX_ENTRIES = 10_000;

export class MetadataCache {
  private readonly entries = new Map<string, Entry>();

  /** ttlMs 0 caches nothing. */
  constructor(
    readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Drops everything; reads already in flight finish with what they read, later ones read afresh. */
  invalidate(): void {
    this.entries.clear();
  }

  read<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > t) return hit.value as Promise<T>;
    if (this.entries.size >= MAX_ENTRIES) {
      for (const [k, e] of this.entries) if (e.expires <= t) this.entries.delete(k);
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    }
    const value = load();
    const entry = { value, expires: t + this.ttlMs };
    this.entries.set(key, entry);
    const forget = () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    value.then((v) => v === null && forget(), forget);
    return value;
  }
}

/** The same repositories with the hot reads served through `cache` (everything else unchanged, via the prototype). */
export function cachedRepositories(repos: Repositories, cache: MetadataCache): Repositories {
  const keys = Object.create(repos.keys) as Repositories['keys'];
  keys.get = (accountId, keyId) => cache.read(`key\0${accountId}\0${keyId}`, () => repos.keys.get(accountId, keyId));
  keys.findById = (keyId) => cache.read(`keyById\0${keyId}`, () => repos.keys.findById(keyId));
  keys.getVersion = (keyId, versionId) => cache.read(`version\0${keyId}\0${versionId}`, () => repos.keys.getVersion(keyId, versionId));
  const aliases = Object.create(repos.aliases) as Repositories['aliases'];
  aliases.get = (accountId, name) => cache.read(`alias\0${accountId}\0${name}`, () => repos.aliases.get(accountId, name));
  const keyPolicies = Object.create(repos.keyPolicies) as Repositories['keyPolicies'];
  keyPolicies.get = (keyId) => cache.read(`keyPolicy\0${keyId}`, () => repos.keyPolicies.get(keyId));
  const grants = Object.create(repos.grants) as Repositories['grants'];
  grants.listForKey = (keyId, grantee) => cache.read(`grants\0${keyId}\0${grantee ?? ''}`, () => repos.grants.listForKey(keyId, grantee));
  const userPolicies = Object.create(repos.userPolicies) as Repositories['userPolicies'];
  userPolicies.list = (accountId, userName) => cache.read(`userPolicies\0${accountId}\0${userName}`, () => repos.userPolicies.list(accountId, userName));
  return { ...repos, keys, aliases, keyPolicies, grants, userPolicies };
}
