// A short-lived cache of access-key lookups: without it every request costs a database query and a token
// call (unsealing the secret). Entries live at most ttlMs (≤ 1 s by configuration), so a disabled or deleted
// access key stops working within that time on every instance; concurrent misses share one lookup.
import type { ResolvedCredential } from './credentials.js';

export type CredentialLookup = (accessKeyId: string) => Promise<ResolvedCredential | null>;
/** A cached lookup; invalidate() drops one access key (or all) at once, for changes made in this process. */
export type CachedCredentialLookup = CredentialLookup & { invalidate(accessKeyId?: string): void };

interface Entry {
  value: Promise<ResolvedCredential | null>;
  expires: number;
}

const MAX_ENTRIES = 10_000;

/** Wraps `lookup`; ttlMs 0 caches nothing. Only found credentials are kept past their lookup. */
export function cachedCredentialLookup(lookup: CredentialLookup, ttlMs: number, now: () => number = () => performance.now()): CachedCredentialLookup {
  const entries = new Map<string, Entry>();
  const invalidate = (accessKeyId?: string) => (accessKeyId === undefined ? entries.clear() : void entries.delete(accessKeyId));
  if (ttlMs <= 0) return Object.assign((id: string) => lookup(id), { invalidate });
  const cached: CredentialLookup = (accessKeyId) => {
    const t = now();
    const hit = entries.get(accessKeyId);
    if (hit && hit.expires > t) return hit.value;
    if (entries.size >= MAX_ENTRIES) {
      for (const [k, e] of entries) if (e.expires <= t) entries.delete(k);
      if (entries.size >= MAX_ENTRIES) entries.clear();
    }
    const value = lookup(accessKeyId);
    const entry = { value, expires: t + ttlMs };
    entries.set(accessKeyId, entry);
    const forget = () => {
      if (entries.get(accessKeyId) === entry) entries.delete(accessKeyId);
    };
    value.then((v) => v === null && forget(), forget);
    return value;
  };
  return Object.assign(cached, { invalidate });
}
