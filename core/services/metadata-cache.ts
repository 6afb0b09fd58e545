// A cache of what the cryptographic path reads on every request: keys, key versions, aliases, key policies, grants and
// identity policies. Without it each Encrypt costs several queries.
//
// Staleness is bounded by ttlMs (≤ 1 s by configuration), measured from the later of two moments: when the entry was
// read, and when this instance last proved its change feed current (a probe it sent came back: Postgres delivers
// notices in commit order, and every change notice is sent inside the changing transaction, so every change committed
// before the probe was sent has been applied). While the feed keeps proving itself, entries live until a change
// invalidates them; when probes stop coming back (a listening connection silently gone), every entry expires within
// ttlMs of the last proof, as a plain TTL cache would; and none lives past MAX_AGE_MS (5 minutes). Changes invalidate by scope (the key, alias or user they touch),
// not the whole cache, so a stream of CreateKeys leaves other keys' entries alone. Not-found answers are never kept;
// concurrent misses share one read; past `maxEntries` the least recently read entries go.
import type { Repositories } from '../ports.js';

interface Entry {
  value: Promise<unknown>;
  /** Clock reading when the read started. */
  readAt: number;
  scope: string;
}

export const DEFAULT_MAX_ENTRIES = 50_000;
/** However current the feed, an entry is read again after this: bounds what a change made around Coffer (in the database directly) leaves stale. */
export const MAX_AGE_MS = 300_000;

/** Scopes of cached entries: everything cached about one key, one alias name, one user's policies. */
export const scopes = {
  key: (keyId: string) => `key\0${keyId}`,
  alias: (accountId: string, name: string) => `alias\0${accountId}\0${name}`,
  user: (accountId: string, userName: string) => `user\0${accountId}\0${userName}`,
};

export class MetadataCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byScope = new Map<string, Set<string>>();
  /** The send time of the last probe heard back: every change committed before it has been applied. */
  private provenAt = Number.NEGATIVE_INFINITY;

  /** ttlMs 0 caches nothing. */
  constructor(
    readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
    readonly maxEntries: number = DEFAULT_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The clock the cache reads (probes are stamped with it). */
  clock(): number {
    return this.now();
  }

  /**
   * Drops the entries of the given scopes, or everything when `which` is null (a change of unknown reach, or
   * notices may have been missed). Reads already in flight finish with what they read; later ones read afresh.
   */
  invalidate(which: readonly string[] | null = null): void {
    if (which === null) {
      this.entries.clear();
      this.byScope.clear();
      return;
    }
    for (const scope of which) {
      const keys = this.byScope.get(scope);
      if (!keys) continue;
      this.byScope.delete(scope);
      for (const k of keys) this.entries.delete(k);
    }
  }

  /** A probe sent at `sentAt` (this cache's clock) came back through the change feed. */
  proven(sentAt: number): void {
    if (sentAt > this.provenAt) this.provenAt = sentAt;
  }

  read<T>(key: string, scope: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && Math.max(hit.readAt, this.provenAt) + this.ttlMs > t && t - hit.readAt < MAX_AGE_MS) {
      // Least recently read goes first: move the hit to the end.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value as Promise<T>;
    }
    const value = load();
    const entry: Entry = { value, readAt: t, scope };
    this.entries.delete(key);
    this.entries.set(key, entry);
    let keys = this.byScope.get(scope);
    if (!keys) this.byScope.set(scope, (keys = new Set()));
    keys.add(key);
    this.trim();
    const forget = () => {
      if (this.entries.get(key) === entry) this.drop(key, entry);
    };
    value.then((v) => v === null && forget(), forget);
    return value;
  }

  private trim(): void {
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) return;
      this.drop(k, e);
    }
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    const keys = this.byScope.get(entry.scope);
    keys?.delete(key);
    if (keys?.size === 0) this.byScope.delete(entry.scope);
  }
}

/** The same repositories with the hot reads served through `cache` (everything else unchanged, via the prototype). */
export function cachedRepositories(repos: Repositories, cache: MetadataCache): Repositories {
  const keys = Object.create(repos.keys) as Repositories['keys'];
  keys.get = (accountId, keyId) => cache.read(`key\0${accountId}\0${keyId}`, scopes.key(keyId), () => repos.keys.get(accountId, keyId));
  keys.findById = (keyId) => cache.read(`keyById\0${keyId}`, scopes.key(keyId), () => repos.keys.findById(keyId));
  keys.getVersion = (keyId, versionId) => cache.read(`version\0${keyId}\0${versionId}`, scopes.key(keyId), () => repos.keys.getVersion(keyId, versionId));
  const aliases = Object.create(repos.aliases) as Repositories['aliases'];
  aliases.get = (accountId, name) => cache.read(`alias\0${accountId}\0${name}`, scopes.alias(accountId, name), () => repos.aliases.get(accountId, name));
  const keyPolicies = Object.create(repos.keyPolicies) as Repositories['keyPolicies'];
  keyPolicies.get = (keyId) => cache.read(`keyPolicy\0${keyId}`, scopes.key(keyId), () => repos.keyPolicies.get(keyId));
  const grants = Object.create(repos.grants) as Repositories['grants'];
  grants.listForKey = (keyId, grantee) => cache.read(`grants\0${keyId}\0${grantee ?? ''}`, scopes.key(keyId), () => repos.grants.listForKey(keyId, grantee));
  const userPolicies = Object.create(repos.userPolicies) as Repositories['userPolicies'];
  userPolicies.list = (accountId, userName) =>
    cache.read(`userPolicies\0${accountId}\0${userName}`, scopes.user(accountId, userName), () => repos.userPolicies.list(accountId, userName));
  return { ...repos, keys, aliases, keyPolicies, grants, userPolicies };
}

type Args = unknown[];
const field = (v: unknown, name: string): string | undefined => {
  const f = (v as Record<string, unknown> | null | undefined)?.[name];
  return typeof f === 'string' ? f : undefined;
};

/**
 * What a write may make stale, as cache scopes: [] when it touches nothing cached, null when its reach is not known
 * here (the whole cache then goes). Repository and method names as in core/ports.ts.
 */
export function scopesOfWrite(repo: string, method: string, args: Args): string[] | null {
  const [a, b] = args;
  const key = (id: string | undefined) => (id ? [scopes.key(id)] : null);
  switch (repo) {
    case 'keys':
      // insert(key, version), update(keyId, patch), addVersion(version), deleteVersion(keyId, versionId); delete(keyId)
      // also removes the key's aliases: everything goes.
      if (method === 'delete') return null;
      if (method === 'addVersion') return key(field(a, 'keyId'));
      return method === 'insert' ? key(field(a, 'id')) : key(typeof a === 'string' ? a : undefined);
    case 'keyPolicies':
      return key(typeof a === 'string' ? a : undefined);
    case 'rotations':
      // addRotation(version, rotation) and promote(rotation) move the key's current version; settings are not cached.
      return method === 'addRotation' || method === 'promote' ? key(field(a, 'keyId')) : method === 'putSettings' ? [] : null;
    case 'grants':
      // insert(grant); delete(grantId) does not name its key.
      return method === 'insert' ? key(field(a, 'keyId')) : null;
    case 'aliases':
      // insert(alias), retarget(accountId, name, ...), delete(accountId, name)
      if (method === 'insert') return field(a, 'accountId') && field(a, 'name') ? [scopes.alias(field(a, 'accountId')!, field(a, 'name')!)] : null;
      return typeof a === 'string' && typeof b === 'string' ? [scopes.alias(a, b)] : null;
    case 'userPolicies':
      // put(policy), delete(accountId, userName, policyName)
      if (method === 'put') return field(a, 'accountId') && field(a, 'userName') ? [scopes.user(field(a, 'accountId')!, field(a, 'userName')!)] : null;
      return typeof a === 'string' && typeof b === 'string' ? [scopes.user(a, b)] : null;
    case 'users':
      // insert(user), delete(accountId, userName): a deleted user's policies go with it.
      return method === 'delete' && typeof a === 'string' && typeof b === 'string' ? [scopes.user(a, b)] : method === 'insert' ? [] : null;
    case 'tags':
    case 'imports':
    case 'accessKeys':
    case 'accounts':
      return []; // nothing of theirs is cached here (access keys have their own cache)
    default:
      return null;
  }
}
