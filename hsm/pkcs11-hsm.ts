// The Hsm port over PKCS#11: root keys are token objects (CKA_ID = version id), AES-256-GCM runs inside the token.
import { IV_BYTES, TAG_BYTES, uuidToBytes } from '../core/ciphertext.js';
import { KmsError, internalError, invalidCiphertext } from '../core/errors.js';
import type { DomainKeys, Hsm, WrappedKeyStore } from '../core/ports.js';
import { WrappedKeys, type Part } from './wrapped-keys.js';
import { isWrappablePair } from './wrapped-blob.js';
import { defaultHeavyLimit } from './heavy-ops.js';
import { loadAuditSigningKey, signDigest as signAuditDigestWith, type AuditSigningKey } from './audit-signing.js';
import { isHandleInvalid, toKmsError } from './errors.js';
import { FipsPolicy, registerFallback } from './fips.js';
import { aesKeyGen } from './mechanisms.js';
import { acquireModule, ck, findObjects, findSlot, releaseModule, type Handle, type PKCS11 } from './module.js';
import { probe, type Capabilities } from './probe.js';
import { runSelfTest, type SelfTestResult } from './self-test.js';
import { SessionPool } from './session-pool.js';
import type { AsymmetricSpec, HmacSpec, KeyUsage, RsaSpec, SigningAlgorithm } from '../core/key-spec.js';
import { ecdh, generateHmacKey, generateKeyPair, generateSessionKeyPair, hmacSign, readPublicKey, rsaBytes, rsaDecrypt, signDigest, verifyDigest } from './asymmetric.js';
import { IvPool } from './iv-pool.js';
import { CredentialKey } from './credential-key.js';
import { gcmDecrypt, gcmEncrypt } from './gcm.js';
import { createKeyPairObjects, importedKeyPairTemplates, unwrapRsaKeyPair } from './key-import.js';
import {
  findRootKeyTemplate, findVersionObjectsTemplate, findVersionObjectTemplate,
  importedHmacKeyTemplate, importedRootKeyTemplate, rootKeyTemplate, wrappingKeyPairTemplates, type PairUsage, type VersionObject,
} from './templates.js';
import { SYNC_SIGNING_SPECS } from './sync-calls.js';

export interface HsmConfig {
  modulePath: string;
  tokenLabel: string;
  pin: string;
  /** Sessions in the pool; default 2 × CPU count, at least 2. */
  poolSize?: number;
  /** COFFER_FIPS_MODE: refuse every non-approved fallback (hsm/fips.ts). */
  fipsMode?: boolean;
  /**
   * AES-GCM and HMAC inputs up to this many bytes use the synchronous C_Encrypt/C_Decrypt/C_Sign on the event loop
   * instead of the *Async calls (a thread-pool hop that costs more than a small operation in a local software token),
   * and so do the cheap signing operations of hsm/sync-calls.ts (ECC_NIST_P256 signatures and verifications). 0 = never;
   * keep 0 for network HSMs, whose every call is a round trip. RSA signatures and the slower curves stay asynchronous.
   */
  syncMaxBytes?: number;
  /** Concurrent RSA_3072/RSA_4096 private-key operations (hsm/heavy-ops.ts); default cores - 1 for SoftHSM, else 0 = no cap. */
  heavyConcurrency?: number;
}

const HEALTH_TIMEOUT_MS = 2_000;

// The two places where work happens in process instead of in the token (hsm/fips.ts refuses them in FIPS mode).
const IN_PROCESS_OAEP = 'in-process-oaep-decoding';
const IN_PROCESS_UNWRAP = 'in-process-unwrap';
registerFallback({
  id: IN_PROCESS_OAEP,
  operations: ['Decrypt (RSAES_OAEP_SHA_256)', 'GetParametersForImport/ImportKeyMaterial (RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_256)'],
  // Coffer decodes OAEP-SHA-256 in process on every token today (SoftHSM 2.6.1 refuses it with CKR_ARGUMENTS_BAD).
  neededBy: () => true,
});
registerFallback({
  id: IN_PROCESS_UNWRAP,
  operations: [
    'ImportKeyMaterial (every key spec and wrapping algorithm but RSA key pairs under RSA_AES_KEY_WRAP_SHA_1, which the token unwraps itself: the material is unwrapped in process, then created in the token)',
  ],
  neededBy: () => true,
});

/** The version id a start-up probe seals under (never stored). */
const PROBE_VERSION = '00000000-0000-4000-8000-000000000000';

export class Pkcs11Hsm implements Hsm {
  private readonly handles = new Map<string, Handle>();
  private readonly credentialKey: CredentialKey;
  private closed = false;
  private auditKey: Promise<AuditSigningKey> | null = null;
  /** COFFER_KEY_STORE=wrapped: AES root keys wrapped under domain keys in `store` (hsm/wrapped-keys.ts); null = token objects. */
  private wrapped: WrappedKeys | null = null;
  /** Encrypt's IVs, from the token's RNG a draw at a time (hsm/iv-pool.ts). */
  private readonly ivs: IvPool;

  constructor(
    private readonly lib: PKCS11,
    private readonly modulePath: string,
    readonly pool: SessionPool,
    readonly capabilities: Capabilities,
    readonly fips: FipsPolicy = new FipsPolicy(false),
    /** AES-GCM and HMAC inputs up to this many bytes, and while above 0 ECC_NIST_P256 signing, use synchronous calls (HsmConfig.syncMaxBytes). */
    readonly syncMaxBytes = 0,
  ) {
    this.ivs = new IvPool(lib);
    this.credentialKey = new CredentialKey(lib, syncMaxBytes);
  }

  /**
   * From now on, new AES root keys, HMAC keys and EC and RSA key pairs (created or imported) are wrapped under the token's domain key (created once) and
   * kept in `store`; up to `cacheSize` unwrapped use copies stay in the token. Root keys made as token objects before
   * keep working. Ed25519 pairs (SoftHSM cannot wrap them) and import wrapping keys stay token objects.
   */
  async useWrappedKeys(store: WrappedKeyStore, cacheSize: number): Promise<void> {
    const kwp = this.capabilities.mechanisms.CKM_AES_KEY_WRAP_PAD;
    if (!kwp?.wrap || !kwp.unwrap) {
      throw new KmsError('KMSInternalException', 'COFFER_KEY_STORE=wrapped needs CKM_AES_KEY_WRAP_PAD (wrap and unwrap), which this token does not offer.');
    }
    const wrapped = new WrappedKeys(this.lib, () => this.pool.openDetached(), store, cacheSize);
    try {
      await this.serialized(async () => wrapped.init());
      await store.watch((versionId) => (versionId === null ? wrapped.evictAll() : wrapped.evict(versionId)));
      this.wrapsKeyPairs = await this.wrapsPrivateKeys(wrapped);
    } catch (e) {
      wrapped.close();
      throw toKmsError(e);
    }
    this.wrapped = wrapped;
  }

  /** Wrapped mode: whether key pairs are wrapped too (the token wraps private keys; HSM policies may forbid it). */
  wrapsKeyPairs = false;

  /**
   * Whether the token wraps a private key under the domain key (SoftHSM does; a hardware HSM's policy may forbid
   * exporting private keys even wrapped): a P-256 session pair is made, sealed and destroyed. When it cannot, key
   * pairs stay token objects.
   */
  private wrapsPrivateKeys(wrapped: WrappedKeys): Promise<boolean> {
    return this.run('other', async (s) => {
      let pair: { publicKey: Handle; privateKey: Handle } | null = null;
      try {
        pair = await generateSessionKeyPair(this.lib, s, 'ECC_NIST_P256', 'SIGN_VERIFY');
        const publicKey = readPublicKey(this.lib, s, pair.publicKey, 'ECC_NIST_P256');
        wrapped.sealPair(PROBE_VERSION, { type: 'pair', spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', publicKey }, pair.privateKey);
        return true;
      } catch {
        return false;
      } finally {
        for (const h of pair ? [pair.privateKey, pair.publicKey] : []) this.destroyQuietly(s, h);
      }
    });
  }

  /** Unwrapped root keys held in the token now (wrapped mode), else null. */
  get unwrappedKeys(): number | null {
    return this.wrapped?.size ?? null;
  }

  /** Domain-key rotation (wrapped mode), else null; token writes are serialized across the processes sharing the token. */
  get domainKeys(): DomainKeys | null {
    const w = this.wrapped;
    if (w === null) return null;
    const kms = <T>(p: Promise<T>) => p.catch((e: unknown) => Promise.reject(toKmsError(e)));
    return {
      describe: () => kms(w.describe()),
      rotate: () => kms(w.rotate((fn) => this.serialized(fn))),
      rewrap: (limit, after) => kms(w.rewrap(limit, after)),
      destroy: (id) => kms(w.destroyDomainKey(id, (fn) => this.serialized(fn))),
    };
  }

  async createRootKey(versionId: string): Promise<void> {
    const template = templateFor(versionId);
    if (this.wrapped) return this.wrapped.create(versionId).catch((e: unknown) => Promise.reject(toKmsError(e)));
    await this.runWrite(async (s) => {
      // Idempotent, so a retried create does not leave two keys with one CKA_ID.
      const found = findObjects(this.lib, s, findRootKeyTemplate(versionId));
      const handle = found[0] ?? (await this.lib.C_GenerateKeyAsync(s, aesKeyGen(), template));
      this.handles.set(versionId, handle);
    });
  }

  async destroyRootKey(versionId: string): Promise<void> {
    templateFor(versionId);
    if (this.wrapped) await this.wrapped.destroy(versionId);
    // Also in wrapped mode: the version may have been made as a token object before the switch.
    await this.runWrite(async (s) => {
      for (const k of [versionId, ...(['private', 'public', 'hmac'] as const).map((o) => `${versionId}/${o}`)]) this.handles.delete(k);
      for (const h of findObjects(this.lib, s, findVersionObjectsTemplate(versionId))) {
        try {
          this.lib.C_DestroyObject(s, h);
        } catch (e) {
          if (!isHandleInvalid(e)) throw e; // another process destroyed it first
        }
      }
    });
  }

  async hasRootKey(versionId: string): Promise<boolean> {
    templateFor(versionId);
    if (this.wrapped && (await this.wrapped.has(versionId))) return true;
    // Always asks the token: another process may have destroyed the key since we cached its handle.
    return this.run('other', async (s) => {
      return findObjects(this.lib, s, findVersionObjectsTemplate(versionId)).length > 0;
    });
  }

  async encrypt(
    versionId: string,
    plaintext: Uint8Array,
    aadFor: (iv: Uint8Array) => Uint8Array,
  ): Promise<{ iv: Uint8Array; ciphertext: Uint8Array }> {
    templateFor(versionId);
    return this.withRoot('other', versionId, async (s, key) => {
      const iv = this.ivs.next(s);
      const aad = aadFor(iv);
      return { iv, ciphertext: await gcmEncrypt(this.lib, s, key, iv, aad, plaintext, this.syncMaxBytes) };
    });
  }

  async decrypt(versionId: string, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    templateFor(versionId);
    // Encrypt refuses empty plaintexts, so a ciphertext holds at least one byte before its tag.
    if (iv.length !== IV_BYTES || ciphertext.length <= TAG_BYTES) throw invalidCiphertext();
    return this.withRoot('decrypt', versionId, (s, key) => gcmDecrypt(this.lib, s, key, iv, aad, ciphertext, this.syncMaxBytes));
  }

  async generateRandom(length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > 65_536) throw internalError(new RangeError('length'));
    return this.run('other', async (s) => new Uint8Array(this.lib.C_GenerateRandom(s, Buffer.alloc(length))));
  }

  /** Sealed = iv(12) || ciphertext || tag(16), under the credential key. */
  async seal(secret: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    await this.loadCredentialKey();
    return this.run('other', async (s) => {
      const iv = this.lib.C_GenerateRandom(s, Buffer.alloc(IV_BYTES));
      return new Uint8Array(Buffer.concat([iv, await this.credentialKey.seal(s, iv, aad, secret)]));
    });
  }

  async unseal(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    if (sealed.length <= IV_BYTES + TAG_BYTES) throw invalidCiphertext();
    await this.loadCredentialKey();
    return this.run('decrypt', (s) => this.credentialKey.unseal(s, sealed.subarray(0, IV_BYTES), aad, sealed.subarray(IV_BYTES)));
  }

  async importRootKey(versionId: string, material: Uint8Array): Promise<void> {
    this.fips.assertPermitted(IN_PROCESS_UNWRAP);
    templateFor(versionId);
    if (material.length !== 32) throw new KmsError('IncorrectKeyMaterialException', 'The key material must be 256 bits for a SYMMETRIC_DEFAULT key.');
    if (this.wrapped) {
      await this.wrapped.import(versionId, material).catch((e: unknown) => Promise.reject(toKmsError(e)));
      // A token object the version had from before the switch to wrapped mode would shadow nothing, but is stale.
      return this.runWrite(async (s) => {
        for (const h of findObjects(this.lib, s, findRootKeyTemplate(versionId))) this.lib.C_DestroyObject(s, h);
        this.handles.delete(versionId);
      });
    }
    return this.runWrite(async (s) => {
      for (const h of findObjects(this.lib, s, findRootKeyTemplate(versionId))) this.lib.C_DestroyObject(s, h);
      this.handles.delete(versionId);
      const handle = this.lib.C_CreateObject(s, importedRootKeyTemplate(versionId, Buffer.from(material)));
      this.handles.set(versionId, handle);
    });
  }

  async importKeyPair(versionId: string, spec: AsymmetricSpec, usage: KeyUsage, privateKey: Uint8Array): Promise<void> {
    this.fips.assertPermitted(IN_PROCESS_UNWRAP);
    templateFor(versionId);
    const wrapped = this.pairStore();
    if (wrapped && isWrappablePair(spec)) {
      const t = importedKeyPairTemplates(null, spec, usage, privateKey);
      const sealed = await this.run('other', async (s) => {
        const made: Handle[] = [];
        try {
          const priv = this.lib.C_CreateObject(s, t.privateKey);
          made.push(priv);
          const pub = this.lib.C_CreateObject(s, t.publicKey);
          made.push(pub);
          return wrapped.sealPair(versionId, { type: 'pair', spec, usage: usage as PairUsage, publicKey: readPublicKey(this.lib, s, pub, spec) }, priv);
        } finally {
          for (const h of made) this.destroyQuietly(s, h);
        }
      });
      await wrapped.replace(versionId, sealed).catch((e: unknown) => Promise.reject(toKmsError(e)));
      // Token objects the version had (material imported before the switch to wrapped mode) are stale now.
      return this.replaceVersionObjects(versionId, () => undefined);
    }
    const templates = importedKeyPairTemplates(versionId, spec, usage, privateKey);
    await this.replaceVersionObjects(versionId, (s) => createKeyPairObjects(this.lib, s, templates));
  }

  async importHmacKey(versionId: string, spec: HmacSpec, material: Uint8Array): Promise<void> {
    this.fips.assertPermitted(IN_PROCESS_UNWRAP);
    templateFor(versionId);
    if (this.wrapped) {
      await this.wrapped.import(versionId, material, { type: 'hmac', spec }).catch((e: unknown) => Promise.reject(toKmsError(e)));
      // The token object the version had from before the switch to wrapped mode is stale now.
      return this.replaceVersionObjects(versionId, () => undefined);
    }
    await this.replaceVersionObjects(versionId, (s) => this.lib.C_CreateObject(s, importedHmacKeyTemplate(versionId, Buffer.from(material))));
  }

  async createWrappingKeyPair(versionId: string, spec: RsaSpec): Promise<void> {
    templateFor(versionId);
    const t = wrappingKeyPairTemplates(versionId, rsaBytes(spec) * 8);
    await this.runWrite(async (s) => {
      if (findObjects(this.lib, s, findVersionObjectTemplate(versionId, 'private')).length === 0) {
        await this.lib.C_GenerateKeyPairAsync(s, { mechanism: ck.CKM_RSA_PKCS_KEY_PAIR_GEN }, t.publicKey, t.privateKey);
      }
    });
  }

  /** In the token when it unwraps with CKM_AES_KEY_WRAP_PAD and the wrapping key may unwrap (pairs made before could not). */
  async unwrapRsaKeyPair(
    wrapping: { versionId: string; spec: RsaSpec }, wrapped: Uint8Array, target: { versionId: string; spec: RsaSpec; usage: KeyUsage },
  ): Promise<Uint8Array | null> {
    if (!this.capabilities.mechanisms.CKM_AES_KEY_WRAP_PAD?.unwrap || !this.capabilities.mechanisms.CKM_RSA_PKCS_OAEP?.unwrap) return null;
    templateFor(target.versionId);
    const canUnwrap = (s: Handle, wrappingKey: Handle) => !!(this.lib.C_GetAttributeValue(s, wrappingKey, [{ type: ck.CKA_UNWRAP }])[0]?.value as Buffer | undefined)?.[0];
    const usage = target.usage as PairUsage;
    const store = this.pairStore();
    if (store) {
      // Unwrapped into session objects and sealed like an imported pair (the material still never enters the process).
      const done = await this.withObject('decrypt', wrapping.versionId, 'private', async (s, wrappingKey) => {
        if (!canUnwrap(s, wrappingKey)) return null;
        const u = { wrappingKey, modulusBytes: rsaBytes(wrapping.spec), versionId: null, spec: target.spec, usage };
        const r = await unwrapRsaKeyPair(this.lib, s, u, wrapped);
        try {
          return { spki: r.spki, sealed: store.sealPair(target.versionId, { type: 'pair', spec: target.spec, usage, publicKey: r.spki }, r.privateKey) };
        } finally {
          for (const h of r.objects) this.destroyQuietly(s, h);
        }
      });
      if (done === null) return null;
      await store.replace(target.versionId, done.sealed).catch((e: unknown) => Promise.reject(toKmsError(e)));
      await this.replaceVersionObjects(target.versionId, () => undefined);
      return new Uint8Array(done.spki);
    }
    return this.serialized(() => this.withObject('decrypt', wrapping.versionId, 'private', async (s, wrappingKey) => {
      if (!canUnwrap(s, wrappingKey)) return null;
      for (const k of (['private', 'public'] as const).map((o) => `${target.versionId}/${o}`)) this.handles.delete(k);
      for (const h of findObjects(this.lib, s, findVersionObjectsTemplate(target.versionId))) this.lib.C_DestroyObject(s, h);
      const u = { wrappingKey, modulusBytes: rsaBytes(wrapping.spec), versionId: target.versionId, spec: target.spec, usage };
      return new Uint8Array((await unwrapRsaKeyPair(this.lib, s, u, wrapped)).spki);
    }));
  }

  /** Destroys every object of the version, forgets their handles, and creates the new ones. */
  private replaceVersionObjects(versionId: string, create: (s: Handle) => unknown): Promise<void> {
    return this.runWrite(async (s) => {
      for (const k of (['private', 'public', 'hmac'] as const).map((o) => `${versionId}/${o}`)) this.handles.delete(k);
      for (const h of findObjects(this.lib, s, findVersionObjectsTemplate(versionId))) this.lib.C_DestroyObject(s, h);
      create(s);
    });
  }

  async createKeyPair(versionId: string, spec: AsymmetricSpec, usage: KeyUsage): Promise<void> {
    templateFor(versionId);
    const wrapped = this.pairStore();
    if (wrapped && isWrappablePair(spec)) {
      // Generated as session objects on a pool session (RSA takes long: asynchronously, heavy-limited), wrapped, destroyed.
      const sealed = await this.pool.heavy.run(spec, () =>
        this.run('other', async (s) => {
          const pair = await generateSessionKeyPair(this.lib, s, spec, usage as PairUsage);
          try {
            const publicKey = readPublicKey(this.lib, s, pair.publicKey, spec);
            return wrapped.sealPair(versionId, { type: 'pair', spec, usage: usage as PairUsage, publicKey }, pair.privateKey);
          } finally {
            for (const h of [pair.privateKey, pair.publicKey]) this.destroyQuietly(s, h);
          }
        }),
      );
      return wrapped.insert(versionId, sealed).catch((e: unknown) => Promise.reject(toKmsError(e)));
    }
    await this.runWrite(async (s) => {
      if (findObjects(this.lib, s, findVersionObjectTemplate(versionId, 'private')).length === 0) await generateKeyPair(this.lib, s, versionId, spec, usage);
    });
  }

  async createHmacKey(versionId: string, spec: HmacSpec): Promise<void> {
    templateFor(versionId);
    if (this.wrapped) return this.wrapped.create(versionId, { type: 'hmac', spec }).catch((e: unknown) => Promise.reject(toKmsError(e)));
    await this.runWrite(async (s) => {
      if (findObjects(this.lib, s, findVersionObjectTemplate(versionId, 'hmac')).length === 0) await generateHmacKey(this.lib, s, versionId, spec);
    });
  }

  async publicKey(versionId: string, spec: AsymmetricSpec): Promise<Uint8Array> {
    const wrapped = this.wrapped ? await this.wrapped.publicKey(versionId).catch((e: unknown) => Promise.reject(toKmsError(e))) : null;
    if (wrapped) return new Uint8Array(wrapped);
    return this.withObject('other', versionId, 'public', async (s, h) => new Uint8Array(readPublicKey(this.lib, s, h, spec)));
  }

  sign(versionId: string, spec: AsymmetricSpec, algorithm: SigningAlgorithm, digest: Uint8Array): Promise<Uint8Array> {
    const sync = this.syncMaxBytes > 0 && SYNC_SIGNING_SPECS.has(spec);
    const fn = async (s: Handle, h: Handle) => new Uint8Array(await signDigest(this.lib, s, h, spec, algorithm, digest, sync));
    return this.pool.heavy.run(spec, () => this.withPair('other', versionId, 'private', fn));
  }

  verify(versionId: string, spec: AsymmetricSpec, algorithm: SigningAlgorithm, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const sync = this.syncMaxBytes > 0 && SYNC_SIGNING_SPECS.has(spec);
    return this.withPair('other', versionId, 'public', (s, h) => verifyDigest(this.lib, s, h, spec, algorithm, digest, signature, sync));
  }

  asymmetricDecrypt(versionId: string, spec: AsymmetricSpec, algorithm: string, ciphertext: Uint8Array): Promise<Uint8Array> {
    if (algorithm === 'RSAES_OAEP_SHA_256') this.fips.assertPermitted(IN_PROCESS_OAEP);
    const fn = async (s: Handle, h: Handle) => new Uint8Array(await rsaDecrypt(this.lib, s, h, spec, algorithm, ciphertext));
    return this.pool.heavy.run(spec, () => this.withPair('decrypt', versionId, 'private', fn));
  }

  /** Where new key pairs go: the wrapped store when the token wraps private keys, else (null) token objects. */
  private pairStore(): WrappedKeys | null {
    return this.wrapsKeyPairs ? this.wrapped : null;
  }

  private destroyQuietly(s: Handle, h: Handle): void {
    try {
      this.lib.C_DestroyObject(s, h);
    } catch {
      // gone with its session
    }
  }

  /** A key pair's half: its wrapped use copy in wrapped mode, else (and for pairs made as token objects) the token object. */
  private withPair<T>(op: 'decrypt' | 'other', versionId: string, kind: 'private' | 'public', fn: (s: Handle, h: Handle) => Promise<T>): Promise<T> {
    return this.withWrapped(op, versionId, fn, () => this.withObject(op, versionId, kind, fn), kind === 'public' ? 'public' : 'secret');
  }

  mac(versionId: string, spec: HmacSpec, message: Uint8Array): Promise<Uint8Array> {
    const sync = message.length <= this.syncMaxBytes;
    const fn = async (s: Handle, h: Handle) => new Uint8Array(await hmacSign(this.lib, s, h, spec, message, sync));
    return this.withWrapped('other', versionId, fn, () => this.withObject('other', versionId, 'hmac', fn));
  }

  deriveSharedSecret(versionId: string, spec: AsymmetricSpec, peerPoint: Uint8Array): Promise<Uint8Array> {
    return this.withPair('other', versionId, 'private', async (s, h) => new Uint8Array(await ecdh(this.lib, s, h, spec, peerPoint)));
  }

  /** Runs op in a session with the cached handle of one object of a version; re-finds once when the handle went stale. */
  private withObject<T>(op: 'decrypt' | 'other', versionId: string, kind: VersionObject, fn: (s: Handle, h: Handle) => Promise<T>): Promise<T> {
    templateFor(versionId);
    const cacheKey = `${versionId}/${kind}`;
    return this.run(op, async (s) => {
      const cached = this.handles.get(cacheKey);
      if (cached) {
        try {
          return await fn(s, cached);
        } catch (e) {
          if (!isHandleInvalid(e)) throw e;
          this.handles.delete(cacheKey);
        }
      }
      const found = findObjects(this.lib, s, findVersionObjectTemplate(versionId, kind))[0];
      if (!found) throw new KmsError('KMSInternalException', 'The key material of this key version is not in the HSM.');
      this.handles.set(cacheKey, found);
      return fn(s, found);
    });
  }

  async healthy(): Promise<boolean> {
    if (this.closed) return false;
    const check = this.pool.withSession(async (s) => {
      const state = this.lib.C_GetSessionInfo(s).state;
      return state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
    });
    try {
      return await Promise.race([check.catch(() => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Known-answer tests of AES-GCM, ECDSA and HMAC inside the token (hsm/self-test.ts). */
  selfTest(): Promise<SelfTestResult> {
    return runSelfTest(this.lib, this.pool, this.capabilities);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wrapped?.close();
    await this.pool.close();
    releaseModule(this.modulePath);
  }

  async auditPublicKey(): Promise<Uint8Array> {
    return new Uint8Array((await this.auditSigningKey()).spki);
  }

  async signAuditDigest(digest: Uint8Array): Promise<Uint8Array> {
    const key = await this.auditSigningKey();
    return this.run('other', async (s) => new Uint8Array(await signAuditDigestWith(this.lib, s, key.privateKey, digest)));
  }

  /** The audit-signing key pair, loaded (or created) on first use. */
  private auditSigningKey(): Promise<AuditSigningKey> {
    this.auditKey ??= this.runWrite((s) => loadAuditSigningKey(this.lib, s));
    this.auditKey.catch(() => (this.auditKey = null));
    return this.auditKey;
  }

  /** Loads or creates the token's credential key, once, as a token write (hsm/credential-key.ts); seal and unseal call it too. */
  loadCredentialKey(): Promise<void> {
    return this.credentialKey.load((fn) => this.runWrite(fn));
  }

  /**
   * Runs fn on a pool session with the version's AES root key: its unwrapped use copy in wrapped mode (unwrapped
   * before a session is taken; unwrapped again once when the handle went stale), else, and for versions made as
   * token objects, the token object.
   */
  private withRoot<T>(op: 'decrypt' | 'other', versionId: string, fn: (s: Handle, key: Handle) => Promise<T>): Promise<T> {
    return this.withWrapped(op, versionId, fn, () => this.run(op, (s) => this.withRootKey(s, versionId, (k) => fn(s, k))));
  }

  /**
   * Runs fn with the use copy of the version's wrapped key (AES root key, HMAC key, private key, or with `public` a key
   * pair's public key), or `tokenObject` when it has none.
   */
  private async withWrapped<T>(
    op: 'decrypt' | 'other', versionId: string, fn: (s: Handle, key: Handle) => Promise<T>, tokenObject: () => Promise<T>, part: Part = 'secret',
  ): Promise<T> {
    const wrapped = this.wrapped;
    if (!wrapped) return tokenObject();
    // Leased: a use copy evicted while this runs (LRU, or another instance's deletion) stays in the token until it ends.
    return wrapped.leased(async () => {
      const key = await wrapped.handle(versionId, part).catch((e: unknown) => Promise.reject(toKmsError(e)));
      if (key === null) return tokenObject();
      return this.run(op, async (s) => {
        try {
          return await fn(s, key);
        } catch (e) {
          if (!isHandleInvalid(e)) throw e;
          wrapped.forget(versionId, key, part);
        }
        const again = await wrapped.handle(versionId, part);
        if (again === null) throw new KmsError('KMSInternalException', 'The key material of this key version is not in the HSM.');
        return fn(s, again);
      });
    });
  }

  /** Runs op with the version's cached key handle; re-finds once when the handle went stale. */
  private async withRootKey<T>(s: Handle, versionId: string, op: (key: Handle) => Promise<T>): Promise<T> {
    const cached = this.handles.get(versionId);
    if (cached) {
      try {
        return await op(cached);
      } catch (e) {
        if (!isHandleInvalid(e)) throw e;
        this.handles.delete(versionId);
      }
    }
    const found = findObjects(this.lib, s, findRootKeyTemplate(versionId))[0];
    if (!found) throw new KmsError('KMSInternalException', 'The key material of this key version is not in the HSM.');
    this.handles.set(versionId, found);
    return op(found);
  }

  /**
   * Calls that create or destroy token objects go one at a time in this process: SoftHSM 2.6 fails concurrent
   * object creation with CKR_GENERAL_ERROR now and then (softhsm/SoftHSMv2#573, seen here in the rotation job
   * test), and a token's object store is written serially anyway. Cryptographic calls do not wait for this.
   */
  private objectWrites: Promise<unknown> = Promise.resolve();
  /** Excludes the other processes on this token from token object writes; none until serializeWritesWith. */
  private crossProcess: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();

  /**
   * Token object writes (creating, importing, destroying objects) already run one at a time in this process
   * (SoftHSM fails some concurrent creations); `lock` makes them one at a time across the processes sharing the
   * token too (COFFER_WORKERS, instances), as SoftHSM's file store has integrity reports under parallel writers
   * (softhsm/SoftHSMv2#757). Wrapped AES keys write no token object and never take it.
   */
  serializeWritesWith(lock: <T>(fn: () => Promise<T>) => Promise<T>): void {
    this.crossProcess = lock;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.objectWrites.then(() => this.crossProcess(fn));
    this.objectWrites = next.catch(() => undefined);
    return next;
  }

  private runWrite<T>(fn: (s: Handle) => Promise<T>): Promise<T> {
    return this.serialized(() => this.run('other', fn));
  }

  private async run<T>(op: 'decrypt' | 'other', fn: (s: Handle) => Promise<T>): Promise<T> {
    if (this.closed) throw new KmsError('DependencyTimeoutException', 'The HSM is closed.');
    try {
      return await this.pool.withSession(fn);
    } catch (e) {
      throw toKmsError(e, op);
    }
  }
}

// PKCS#11 session states (pkcs11js does not export them).
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;

/** Throws KMSInternalException unless versionId is a UUID (CKA_ID holds its 16 bytes). */
function templateFor(versionId: string): ReturnType<typeof rootKeyTemplate> {
  try {
    uuidToBytes(versionId);
    return rootKeyTemplate(versionId);
  } catch (e) {
    throw internalError(e);
  }
}

/** Loads the library, finds the token, probes it and logs in a pool of sessions (the credential key: loadCredentialKey). */
export async function openHsm(config: HsmConfig): Promise<Pkcs11Hsm> {
  const lib = acquireModule(config.modulePath);
  let pool: SessionPool | undefined;
  try {
    const slot = findSlot(lib, config.tokenLabel);
    const capabilities = probe(lib, slot);
    pool = new SessionPool(lib, slot, config.pin, config.poolSize, config.heavyConcurrency ?? defaultHeavyLimit(config.modulePath));
    // One session logged in now, so a wrong PIN fails the open rather than the first request.
    await pool.withSession(async () => undefined);
    return new Pkcs11Hsm(lib, config.modulePath, pool, capabilities, new FipsPolicy(config.fipsMode ?? false), config.syncMaxBytes);
  } catch (e) {
    await pool?.close();
    releaseModule(config.modulePath);
    throw toKmsError(e);
  }
}


