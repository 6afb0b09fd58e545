// COFFER_KEY_STORE=wrapped: each key version's AES-256 key, HMAC key or private key lives in the database, wrapped (CKM_AES_KEY_WRAP_PAD)
// under a domain key in the token, as AWS KMS keeps its keys under domain keys. The token then holds a few domain
// keys however many keys there are (SoftHSM slows as its token fills; real HSMs cap their object count). On use a
// blob is unwrapped into a session object that is sensitive and never extractable, on a session of its own that the
// pool never recycles (session objects die with the session that made them), and its handle stays in a bounded LRU.
//
// The blob's formats, and the check that binds it to its version: hsm/wrapped-blob.ts.
//
// Domain keys (hsm/domain-key-ring.ts) are registered in the database before they are made in the token, and a blob
// can name only a registered one (a foreign key). Rotation: register and make a new domain key, retire the others
// (they still unwrap), rewrap the blobs under them in batches (each swapped only if unchanged), and destroy a
// retired key only after deleting its registration, which the database refuses while a blob names it and makes wait
// for a transaction still inserting one: no blob outlives its domain key, even one wrapped by another instance that
// had not yet seen the rotation (its insert then fails and rolls back its CreateKey).
import { randomBytes } from 'node:crypto';
import { KmsError } from '../core/errors.js';
import { hmacKeyBytes } from '../core/key-spec.js';
import type { DomainKeyStatus, WrappedKeyStore } from '../core/ports.js';
import { type DomainKey, DomainKeyRing, isDomainKeyMissing } from './domain-key-ring.js';
import { isHandleInvalid, isSessionFatal } from './errors.js';
import { aesKeyGen } from './mechanisms.js';
import { ck, type Handle, type PKCS11 } from './module.js';
import {
  wrappableHmacKeyTemplate, wrappableImportedHmacKeyTemplate, wrappableImportedRootKeyTemplate, wrappableRootKeyTemplate,
} from './templates.js';
import { AES, checkedPair, DOMAIN_KEY_ID_BYTES as ID_BYTES, open, pairOf, publicKeyTemplate, seal, type Material } from './wrapped-blob.js';

/** Material made or imported as one secret key (key pairs go through sealPair). */
type Secret = Exclude<Material, { type: 'pair' }>;

/** A version's secret material (AES key, HMAC key, private key), or a key pair's public key. */
export type Part = 'secret' | 'public';
const copyKey = (versionId: string, part: Part) => (part === 'public' ? `${versionId}/public` : versionId);

/** Runs a token write serialized with every other on the token (Pkcs11Hsm.serialized). */
type TokenWrite = <T>(fn: () => Promise<T>) => Promise<T>;

export class WrappedKeys {
  private session: Handle | null = null;
  private readonly ring: DomainKeyRing;
  /** Unwrapped use copies by version id (a key pair's public key: "<version id>/public"), least recently used first. */
  private readonly useCopies = new Map<string, Handle>();
  private readonly loading = new Map<string, Promise<Handle | null>>();
  /**
   * Use copies evicted while operations that may hold them were in flight, each with the epoch it was retired in. An
   * operation holds a handle from its `leased` call to its end, and may have obtained it before the eviction, so the
   * copy is destroyed only when every lease begun at or before that epoch has ended: a token that reuses handles must
   * never see an Encrypt run under another key's reused handle.
   */
  private graveyard: Array<{ epoch: number; handle: Handle }> = [];
  private epoch = 0;
  /** Leases in flight by the epoch they began in (inserted in increasing order, so the first key is the oldest). */
  private readonly leases = new Map<number, number>();

  constructor(
    private readonly lib: PKCS11,
    private readonly openSession: () => Handle,
    private readonly store: WrappedKeyStore,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
    this.ring = new DomainKeyRing(lib);
  }

  /** Use copies held now. */
  get size(): number {
    return this.useCopies.size;
  }

  /**
   * Finds the active domain key, registering and making one when the token has none, and registers the active keys
   * found (a token from before registration). The caller serializes token writes.
   */
  async init(): Promise<void> {
    if (this.onSession((s) => this.ring.active(s)) === null) await this.makeActive(randomBytes(ID_BYTES));
    const active = this.onSession((s) => this.ring.list(s).filter((k) => !k.retired));
    for (const k of active) await this.store.registerDomainKey(k.id);
  }

  /** Makes a version's AES-256 root key (or HMAC key) in the token and stores it wrapped (a retried create keeps the first). */
  async create(versionId: string, material: Secret = AES): Promise<void> {
    const { id, blob } = this.sealed(versionId, material, (s) =>
      material.type === 'aes'
        ? this.lib.C_GenerateKey(s, aesKeyGen(), wrappableRootKeyTemplate())
        : this.lib.C_GenerateKey(s, { mechanism: ck.CKM_GENERIC_SECRET_KEY_GEN }, wrappableHmacKeyTemplate(hmacKeyBytes(material.spec))),
    );
    await this.store.insert(versionId, id, blob);
  }

  /** Wraps caller-supplied AES-256 (or HMAC) material as the version's, in place of any it had. */
  async import(versionId: string, value: Uint8Array, material: Secret = AES): Promise<void> {
    const template = material.type === 'aes' ? wrappableImportedRootKeyTemplate(Buffer.from(value)) : wrappableImportedHmacKeyTemplate(Buffer.from(value));
    const { id, blob } = this.sealed(versionId, material, (s) => this.lib.C_CreateObject(s, template));
    await this.store.replace(versionId, id, blob);
    this.evict(versionId);
  }

  /** Makes an extractable copy with `make`, wraps it under the active domain key, and destroys it. */
  private sealed(versionId: string, material: Secret, make: (s: Handle) => Handle): { id: Buffer; blob: Buffer } {
    return this.onSession((s) => {
      const dk = this.activeKey(s);
      const copy = make(s);
      try {
        return { id: dk.id, blob: seal(this.lib, s, dk, copy, versionId, material) };
      } finally {
        this.lib.C_DestroyObject(s, copy);
      }
    });
  }

  async destroy(versionId: string): Promise<void> {
    await this.store.delete(versionId);
    this.evict(versionId);
  }

  async has(versionId: string): Promise<boolean> {
    return (await this.store.get(versionId)) !== null;
  }

  /** Every domain key the token or the database knows, the active one first (core/ports.ts DomainKeys). */
  async describe(): Promise<DomainKeyStatus[]> {
    const usage = new Map((await this.store.domainKeyUsage()).map((u) => [Buffer.from(u.id).toString('hex'), u]));
    const active = this.onSession((s) => this.ring.active(s));
    const out: DomainKeyStatus[] = this.onSession((s) => this.ring.list(s)).map((k) => {
      const id = k.id.toString('hex');
      const u = usage.get(id);
      usage.delete(id);
      return { id, state: k.retired ? 'RETIRED' : 'ACTIVE', keyVersions: u?.versions ?? 0, createdAt: u?.createdAt ?? null };
    });
    for (const [id, u] of usage) out.push({ id, state: 'MISSING', keyVersions: u.versions, createdAt: u.createdAt });
    const rank = (k: DomainKeyStatus) => (active?.id.toString('hex') === k.id ? 0 : k.state === 'ACTIVE' ? 1 : k.state === 'RETIRED' ? 2 : 3);
    return out.sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
  }

  /**
   * Registers a new domain key, then, inside `tokenWrite` (which serializes token writes across processes), makes it
   * active and retires the others. The database is never queried inside `tokenWrite`: requests whose transactions
   * hold the pool's connections may be queued behind it.
   */
  async rotate(tokenWrite: TokenWrite): Promise<{ active: string; retired: string[] }> {
    const id = randomBytes(ID_BYTES);
    await this.store.registerDomainKey(id);
    const retired = await tokenWrite(async () => {
      this.onSession((s) => this.ring.create(s, id));
      return this.onSession((s) => this.ring.retireAllBut(s, id));
    });
    return { active: id.toString('hex'), retired: retired.map((r) => r.toString('hex')) };
  }

  /** Rewraps a batch of blobs not under the active domain key (core/ports.ts DomainKeys.rewrap). */
  async rewrap(limit: number, after: string | null): Promise<{ rewrapped: number; failed: number; last: string | null }> {
    const dk = this.onSession((s) => this.activeKey(s));
    // The token's other domain keys (retired ones, or a second active one a race left): nothing to scan when none.
    const others = this.onSession((s) => this.ring.list(s)).map((k) => k.id).filter((id) => !id.equals(dk.id));
    if (others.length === 0) return { rewrapped: 0, failed: 0, last: null };
    const rows = await this.store.under(others, limit, after);
    let rewrapped = 0;
    let failed = 0;
    for (const { versionId, blob } of rows) {
      let sealed: Buffer | null;
      try {
        sealed = this.onSession((s) => {
          const now = this.activeKey(s);
          if (!now.id.equals(dk.id)) return null;
          const copy = open(this.lib, s, this.ring, versionId, blob, true);
          try {
            return seal(this.lib, s, now, copy.handle, versionId, copy.material);
          } finally {
            this.destroyQuietly(copy.handle);
          }
        });
      } catch (e) {
        if (!(e instanceof KmsError) || e.code !== 'KMSInternalException') throw e;
        failed += 1; // damaged, or its domain key is missing: left as it is (DescribeDomainKeys shows it)
        continue;
      }
      if (sealed === null) return { rewrapped, failed, last: null }; // rotated meanwhile: the next run starts over
      if (await this.store.swap(versionId, blob, dk.id, sealed)) rewrapped += 1;
    }
    return { rewrapped, failed, last: rows.length < limit ? null : (rows[rows.length - 1]?.versionId ?? null) };
  }

  /** Destroys a retired domain key no blob names (core/ports.ts DomainKeys.destroy); the token write inside `tokenWrite`. */
  async destroyDomainKey(idHex: string, tokenWrite: TokenWrite): Promise<void> {
    const id = Buffer.from(idHex, 'hex');
    const notFound = () => new KmsError('NotFoundException', `Domain key ${idHex} does not exist.`);
    if (id.length !== ID_BYTES || id.toString('hex') !== idHex.toLowerCase()) throw notFound();
    const inToken = this.onSession((s) => this.ring.find(s, id));
    if (inToken !== null && !inToken.retired) {
      throw new KmsError('KMSInvalidStateException', `Domain key ${idHex} is the active domain key; rotate the domain key first.`);
    }
    const { registered, versions } = await this.store.forgetDomainKey(id);
    if (versions > 0) {
      throw new KmsError(
        'KMSInvalidStateException',
        `${versions} key version(s) are still wrapped under domain key ${idHex}; they are rewrapped under the active domain key in the background. Try again once DescribeDomainKeys shows none.`,
      );
    }
    if (inToken === null && !registered) throw notFound();
    await tokenWrite(async () =>
      this.onSession((s) => {
        const found = this.ring.find(s, id);
        if (found !== null) this.ring.destroy(s, id, found.handle);
      }),
    );
  }

  /**
   * Runs fn, which may take use copies with `handle`: none of them is destroyed before fn settles, even when evicted
   * meanwhile (it is retired, and destroyed once no lease that could hold it is left).
   */
  async leased<T>(fn: () => Promise<T>): Promise<T> {
    const began = this.epoch;
    this.leases.set(began, (this.leases.get(began) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const left = (this.leases.get(began) ?? 1) - 1;
      if (left > 0) this.leases.set(began, left);
      else this.leases.delete(began);
      this.sweep();
    }
  }

  /** Use copies retired but not yet destroyed (an operation begun before their eviction may still hold them). */
  get retired(): number {
    return this.graveyard.length;
  }

  /**
   * The use copy of a version's material, unwrapped on first use (or, `public`, a key pair's public key made from its
   * checked blob); null when the store has no blob for it. Call inside `leased`.
   */
  handle(versionId: string, part: Part = 'secret'): Promise<Handle | null> {
    const key = copyKey(versionId, part);
    const hit = this.useCopies.get(key);
    if (hit !== undefined) {
      this.useCopies.delete(key);
      this.useCopies.set(key, hit);
      return Promise.resolve(hit);
    }
    return this.loading.get(key) ?? this.fetch(versionId, part);
  }

  /** Drops a use copy whose handle the token no longer knows (not destroyed: a token may have reused the handle). */
  forget(versionId: string, handle: Handle, part: Part = 'secret'): void {
    const key = copyKey(versionId, part);
    if (this.useCopies.get(key) === handle) this.useCopies.delete(key);
  }

  /** Destroys a version's use copies (its blob was replaced or deleted, here or in another instance). */
  evict(versionId: string): void {
    for (const key of [copyKey(versionId, 'secret'), copyKey(versionId, 'public')]) {
      this.loading.delete(key);
      const h = this.useCopies.get(key);
      if (h === undefined) continue;
      this.useCopies.delete(key);
      this.retire(h);
    }
  }

  /** A key pair's public key (SPKI DER) from its checked blob; null when the version has no wrapped key pair. */
  async publicKey(versionId: string): Promise<Buffer | null> {
    const blob = await this.store.get(versionId);
    if (blob === null || pairOf(blob) === null) return null;
    return this.onSession((s) => checkedPair(this.lib, s, this.ring, versionId, blob).publicKey);
  }

  /**
   * Wraps a key pair's extractable private half, made by the caller as a session object on any session (the caller
   * destroys it), under the active domain key; `insert` stores the result.
   */
  sealPair(versionId: string, material: Extract<Material, { type: 'pair' }>, privateKey: Handle): { id: Buffer; blob: Buffer } {
    return this.onSession((s) => {
      const dk = this.activeKey(s);
      return { id: dk.id, blob: seal(this.lib, s, dk, privateKey, versionId, material) };
    });
  }

  /** Stores a new version's sealed material (a retried create keeps the first). */
  async insert(versionId: string, sealed: { id: Buffer; blob: Buffer }): Promise<void> {
    await this.store.insert(versionId, sealed.id, sealed.blob);
  }

  /** Stores sealed material in place of any the version had (an import), and drops the use copies of the old. */
  async replace(versionId: string, sealed: { id: Buffer; blob: Buffer }): Promise<void> {
    await this.store.replace(versionId, sealed.id, sealed.blob);
    this.evict(versionId);
  }

  /** Destroys every use copy (notices may have been missed). */
  evictAll(): void {
    this.loading.clear();
    for (const h of this.useCopies.values()) this.retire(h);
    this.useCopies.clear();
  }

  close(): void {
    this.loading.clear();
    this.useCopies.clear();
    this.graveyard = [];
    if (this.session !== null) this.tryClose(this.session);
    this.session = null;
  }

  private fetch(versionId: string, part: Part): Promise<Handle | null> {
    const key = copyKey(versionId, part);
    let p: Promise<Handle | null> | undefined = undefined;
    p = (async (): Promise<Handle | null> => {
      const blob = await this.store.get(versionId);
      // No blob (a version made as a token object before the switch): this settled promise stays in `loading`, so
      // later calls go straight to the token object without reading the database, until a notice evicts it.
      if (blob === null) return null;
      const h = await this.useCopyOf(versionId, part, blob);
      if (this.loading.get(key) !== p) {
        // Evicted (the blob replaced or deleted) or the session reset while this read: what it read may be stale.
        this.destroyQuietly(h);
        return this.handle(versionId, part);
      }
      this.loading.delete(key);
      this.remember(key, h);
      return h;
    })();
    this.loading.set(key, p);
    p.catch(() => {
      if (this.loading.get(key) === p) this.loading.delete(key);
    });
    return p;
  }

  /**
   * Unwraps the blob into a use copy (or, for `public`, makes the public key object). When the domain key it names is
   * gone, reads the blob once more: a rewrap in another instance may have replaced it after this instance read it,
   * then destroyed the domain key the old blob named (a rewrap changes no material, so it sends no notice).
   */
  private async useCopyOf(versionId: string, part: Part, blob: Uint8Array): Promise<Handle> {
    const make = (b: Uint8Array) =>
      this.onSession((s) =>
        part === 'public'
          ? this.lib.C_CreateObject(s, publicKeyTemplate(checkedPair(this.lib, s, this.ring, versionId, b)))
          : open(this.lib, s, this.ring, versionId, b).handle,
      );
    try {
      return make(blob);
    } catch (e) {
      if (!isDomainKeyMissing(e)) throw e;
      const again = await this.store.get(versionId);
      if (again === null || Buffer.compare(again, blob) === 0) throw e;
      return make(again);
    }
  }

  private remember(key: string, h: Handle): void {
    this.useCopies.set(key, h);
    while (this.useCopies.size > this.capacity) {
      const [oldest, handle] = this.useCopies.entries().next().value as [string, Handle];
      this.useCopies.delete(oldest);
      this.retire(handle);
    }
  }

  /** Destroys an evicted use copy now when no lease is in flight, else once the leases that could hold it end. */
  private retire(h: Handle): void {
    if (this.leases.size === 0) return this.destroyQuietly(h);
    this.graveyard.push({ epoch: this.epoch, handle: h });
    this.epoch += 1;
  }

  private sweep(): void {
    const oldest = this.leases.size === 0 ? Number.POSITIVE_INFINITY : (this.leases.keys().next().value as number);
    while (this.graveyard.length > 0 && this.graveyard[0]!.epoch < oldest) this.destroyQuietly(this.graveyard.shift()!.handle);
  }

  private activeKey(s: Handle): DomainKey {
    const dk = this.ring.active(s);
    if (dk === null) throw new KmsError('KMSInternalException', 'The HSM holds no domain key for wrapped key material.');
    return dk;
  }

  /** Registers a new domain key, then makes it in the token, labelled active. */
  private async makeActive(id: Buffer): Promise<void> {
    await this.store.registerDomainKey(id);
    this.onSession((s) => this.ring.create(s, id));
  }

  /**
   * Runs fn on the long-lived session, opening it when needed. When the session or a handle went bad (the token
   * dropped its sessions: every use copy went with it, and handles may be stale), starts over once on a fresh one.
   */
  private onSession<T>(fn: (s: Handle) => T): T {
    try {
      return fn(this.holder());
    } catch (e) {
      if (!isSessionFatal(e) && !isHandleInvalid(e)) throw e;
    }
    this.reset();
    return fn(this.holder());
  }

  private holder(): Handle {
    this.session ??= this.openSession();
    return this.session;
  }

  private reset(): void {
    const old = this.session;
    this.session = null;
    this.ring.clear();
    this.loading.clear();
    this.useCopies.clear();
    // Gone with the session; destroying their handles later could hit reused ones.
    this.graveyard = [];
    if (old !== null) this.tryClose(old);
  }

  private destroyQuietly(h: Handle): void {
    if (this.session === null) return;
    try {
      this.lib.C_DestroyObject(this.session, h);
    } catch {
      // already gone with its session
    }
  }

  private tryClose(s: Handle): void {
    try {
      this.lib.C_CloseSession(s);
    } catch {
      // already closed
    }
  }
}
