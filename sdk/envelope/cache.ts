// A data-key cache as the AWS Encryption SDK's caching materials manager: reuse limits per data key, LRU capacity.
import { createHash } from 'node:crypto';
import { canonicalContext, type EncryptionContext } from './format.js';
import type { DecryptionRequest, EncryptionMaterials, EncryptionRequest, MaterialsProvider } from './materials.js';

export interface CacheLimits {
  /** How long a data key may be used after KMS issued it, in ms (> 0). */
  maxAgeMs: number;
  /** Messages a data key may encrypt (>= 1). */
  maxMessages: number;
  /** Plaintext bytes a data key may encrypt in all (>= 0). */
  maxBytes: number;
  /** Entries held at most, encryption and decryption together; least recently used evicted first. Default 100. */
  capacity?: number;
  /** Entries of caches sharing nothing else are kept apart by this; default a fresh random id per cache. */
  partition?: string;
  now?: () => number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Requests that could not use the cache (unknown plaintext length, or a message larger than maxBytes). */
  bypassed: number;
  evictions: number;
  size: number;
}

interface Entry {
  dataKey: Uint8Array;
  encryptedDataKey?: Uint8Array;
  keyArn?: string;
  createdAt: number;
  messages: number;
  bytes: number;
}

const positive = (n: unknown, min: number, what: string) => {
  if (typeof n !== 'number' || Number.isNaN(n) || n < min) throw new RangeError(`${what} is required and must be >= ${min}`);
};

export class CachingMaterialsProvider implements MaterialsProvider {
  private readonly entries = new Map<string, Entry>();
  private readonly limits: Required<Omit<CacheLimits, 'now'>> & { now: () => number };
  readonly stats: CacheStats = { hits: 0, misses: 0, bypassed: 0, evictions: 0, size: 0 };

  constructor(private readonly inner: MaterialsProvider, limits: CacheLimits) {
    positive(limits?.maxAgeMs, Number.MIN_VALUE, 'maxAgeMs');
    positive(limits.maxMessages, 1, 'maxMessages');
    positive(limits.maxBytes, 0, 'maxBytes');
    const capacity = limits.capacity ?? 100;
    positive(capacity, 1, 'capacity');
    this.limits = { ...limits, capacity, partition: limits.partition ?? createHash('sha256').update(String(Math.random())).digest('hex'), now: limits.now ?? Date.now };
  }

  private id(kind: string, ...parts: (string | Uint8Array)[]): string {
    const h = createHash('sha256').update(this.limits.partition).update('\0').update(kind);
    for (const p of parts) h.update('\0').update(p);
    return h.digest('hex');
  }

  private expired(e: Entry): boolean {
    return this.limits.now() - e.createdAt >= this.limits.maxAgeMs;
  }

  private evict(id: string) {
    const e = this.entries.get(id);
    if (!e) return;
    e.dataKey.fill(0);
    this.entries.delete(id);
    this.stats.evictions++;
    this.stats.size = this.entries.size;
  }

  private put(id: string, e: Entry) {
    this.evict(id);
    this.entries.set(id, e);
    while (this.entries.size > this.limits.capacity) this.evict(this.entries.keys().next().value as string);
    this.stats.size = this.entries.size;
  }

  /** Looks an entry up, refreshing its LRU position; evicts it if too old. */
  private get(id: string): Entry | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (this.expired(e)) {
      this.evict(id);
      return undefined;
    }
    this.entries.delete(id);
    this.entries.set(id, e);
    return e;
  }

  async getEncryptionMaterials(req: EncryptionRequest): Promise<EncryptionMaterials> {
    const length = req.plaintextLength;
    if (length === undefined || length > this.limits.maxBytes) {
      this.stats.bypassed++;
      return this.inner.getEncryptionMaterials(req);
    }
    const id = this.id('enc', req.keyId, canonicalContext(req.encryptionContext));
    const e = this.get(id);
    if (e && e.messages + 1 <= this.limits.maxMessages && e.bytes + length <= this.limits.maxBytes) {
      e.messages++;
      e.bytes += length;
      this.stats.hits++;
      return { dataKey: Uint8Array.from(e.dataKey), encryptedDataKey: e.encryptedDataKey as Uint8Array, keyArn: e.keyArn as string };
    }
    if (e) this.evict(id);
    this.stats.misses++;
    const m = await this.inner.getEncryptionMaterials(req);
    const entry = { dataKey: Uint8Array.from(m.dataKey), encryptedDataKey: m.encryptedDataKey, keyArn: m.keyArn, createdAt: this.limits.now(), messages: 1, bytes: length };
    if (entry.messages < this.limits.maxMessages) this.put(id, entry);
    else entry.dataKey.fill(0);
    return m;
  }

  async getDecryptionMaterials(req: DecryptionRequest): Promise<Uint8Array> {
    const id = this.id('dec', req.keyArn, req.encryptedDataKey, canonicalContext(req.encryptionContext));
    const e = this.get(id);
    if (e) {
      this.stats.hits++;
      return Uint8Array.from(e.dataKey);
    }
    this.stats.misses++;
    const key = await this.inner.getDecryptionMaterials(req);
    this.put(id, { dataKey: Uint8Array.from(key), createdAt: this.limits.now(), messages: 0, bytes: 0 });
    return key;
  }

  /** Zeroes and drops every cached data key. */
  clear(): void {
    for (const id of [...this.entries.keys()]) this.evict(id);
  }
}

export type { EncryptionContext };
