// What the domain needs from outside: the HSM, the repositories, a unit of work, a clock.
// hsm/ and db/ implement these; core never imports them.
import type { AuditEvent, KeyLastUse } from './audit.js';
import type { ChainedEvent, ChainHead, Checkpoint } from './audit-chain.js';
import type { AsymmetricSpec, HmacSpec, KeyUsage, RsaSpec, SigningAlgorithm } from './key-spec.js';
import type { AccessKey, AccessKeyStatus, Alias, ImportedMaterial, Key, KeyVersion, Page, Rotation, RotationSettings, Tag, WrappingKey } from './model.js';
import type { Account, Grant, User, UserPolicy } from './identity-model.js';

/**
 * The token. Root keys are addressed by key version id; where a version's material lives
 * (a token object per version today, material wrapped under domain keys later) is the adapter's business.
 * Every method throws KmsError: InvalidCiphertextException for an authentication failure on decrypt,
 * DependencyTimeoutException for device or session trouble, KMSInternalException otherwise.
 */
export interface Hsm {
  /** Creates the AES-256 root key of a key version: sensitive, non-extractable, CKA_ID = versionId. */
  createRootKey(versionId: string): Promise<void>;
  /** Destroys a version's root key. Succeeds when it is already gone. */
  destroyRootKey(versionId: string): Promise<void>;
  /** True when the version's root key exists in the token. */
  hasRootKey(versionId: string): Promise<boolean>;
  /**
   * AES-256-GCM inside the token under the version's root key with a fresh 12-byte IV from the token's RNG
   * and a 16-byte tag. `aadFor` receives the IV and returns the additional data (the header holds the IV).
   * Returns the IV and ciphertext||tag.
   */
  encrypt(
    versionId: string,
    plaintext: Uint8Array,
    aadFor: (iv: Uint8Array) => Uint8Array,
  ): Promise<{ iv: Uint8Array; ciphertext: Uint8Array }>;
  /** Inverse of encrypt; ciphertext is ciphertext||tag. A wrong tag, key or AAD gives InvalidCiphertextException. */
  decrypt(versionId: string, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Random bytes from the token's RNG. */
  generateRandom(length: number): Promise<Uint8Array>;
  /** Seals a small secret (an access key's secret) under the token's credential key; aad binds it to its owner. */
  seal(secret: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  unseal(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** The audit-signing key's public half, SubjectPublicKeyInfo DER (ECDSA P-256; created once, found by label). */
  auditPublicKey(): Promise<Uint8Array>;
  /** ECDSA P-256 signature of a SHA-256 digest with the audit-signing key, DER-encoded. */
  signAuditDigest(digest: Uint8Array): Promise<Uint8Array>;
  /**
   * Puts caller-supplied AES-256 material into the token as the version's root key (sensitive, non-extractable),
   * replacing any root key the version had.
   */
  importRootKey(versionId: string, material: Uint8Array): Promise<void>;
  /**
   * Puts a caller's key pair into the token as the version's key pair, from its DER PKCS #8 private key (already checked
   * against the spec): private half sensitive and non-extractable, public half readable; replaces any the version had.
   */
  importKeyPair(versionId: string, spec: AsymmetricSpec, usage: KeyUsage, privateKey: Uint8Array): Promise<void>;
  /** Puts caller-supplied HMAC key material into the token as the version's HMAC key (sensitive, non-extractable). */
  importHmacKey(versionId: string, spec: HmacSpec, material: Uint8Array): Promise<void>;
  /** Creates a version's key pair: private half sensitive and non-extractable, public half readable; both CKA_ID = versionId. */
  createKeyPair(versionId: string, spec: AsymmetricSpec, usage: KeyUsage): Promise<void>;
  /** Creates an import wrapping key pair (GetParametersForImport): RSA, the private half decrypts and unwraps. */
  createWrappingKeyPair(versionId: string, spec: RsaSpec): Promise<void>;
  /**
   * RSA_AES_KEY_WRAP_SHA_1 of an RSA private key undone inside the token (C_UnwrapKey), creating `target`'s key pair
   * with the spec's size checked, and returning its public key (SPKI DER). Resolves null when this token or this
   * wrapping key cannot do it (the caller then unwraps in process). IncorrectKeyMaterialException or
   * InvalidCiphertextException otherwise, leaving no object of `target` behind.
   */
  unwrapRsaKeyPair(
    wrapping: { versionId: string; spec: RsaSpec },
    wrapped: Uint8Array,
    target: { versionId: string; spec: RsaSpec; usage: KeyUsage },
  ): Promise<Uint8Array | null>;
  /** Creates a version's HMAC key (a generic secret of the spec's length), sensitive and non-extractable. */
  createHmacKey(versionId: string, spec: HmacSpec): Promise<void>;
  /** The DER SubjectPublicKeyInfo of a version's key pair. */
  publicKey(versionId: string, spec: AsymmetricSpec): Promise<Uint8Array>;
  /** Signs a digest (the hash of the algorithm) in the token; ECDSA signatures are DER. */
  sign(versionId: string, spec: AsymmetricSpec, algorithm: SigningAlgorithm, digest: Uint8Array): Promise<Uint8Array>;
  /** Verifies a signature over a digest with the version's public key; false for any invalid or malformed signature. */
  verify(versionId: string, spec: AsymmetricSpec, algorithm: SigningAlgorithm, digest: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** RSAES-OAEP decryption with the private key; InvalidCiphertextException for every failure. */
  asymmetricDecrypt(versionId: string, spec: AsymmetricSpec, algorithm: string, ciphertext: Uint8Array): Promise<Uint8Array>;
  /** HMAC of the message under the version's HMAC key. */
  mac(versionId: string, spec: HmacSpec, message: Uint8Array): Promise<Uint8Array>;
  /** ECDH with the version's private key and the other side's uncompressed point; the raw shared secret. */
  deriveSharedSecret(versionId: string, spec: AsymmetricSpec, peerPoint: Uint8Array): Promise<Uint8Array>;
  /** True while a session is logged in and the token answers. */
  /** The domain keys wrapped key material lives under (COFFER_KEY_STORE=wrapped); null when root keys are token objects. */
  readonly domainKeys: DomainKeys | null;
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** A domain key as the token and the database see it; its id is 32 hex digits (the CKA_ID every blob names). */
export interface DomainKeyStatus {
  id: string;
  /** ACTIVE wraps new material; RETIRED only unwraps; MISSING: registered, but the token no longer holds it. */
  state: 'ACTIVE' | 'RETIRED' | 'MISSING';
  /** Key versions whose material is wrapped under it. */
  keyVersions: number;
  /** When it was registered; null for a key the token holds that was never registered (none wraps under it yet). */
  createdAt: Date | null;
}

/**
 * Domain-key rotation (hsm/wrapped-keys.ts): a new domain key becomes the active one, the others retire (they
 * still unwrap), their blobs are rewrapped under the active key in batches, and a retired key no blob names any
 * more may be destroyed. Every method throws KmsError.
 */
export interface DomainKeys {
  /** Every domain key, the active one first. */
  describe(): Promise<DomainKeyStatus[]>;
  /** Makes a new active domain key and retires the others; returns the new key's id and the retired ones'. */
  rotate(): Promise<{ active: string; retired: string[] }>;
  /**
   * Rewraps up to `limit` blobs not under the active domain key, those after `after` in version id order, each
   * only if unchanged meanwhile. Blobs that cannot be unwrapped (damaged, or their domain key is missing) are
   * counted as failed and left as they are. `last` is where the next batch starts; null when none is left.
   */
  rewrap(limit: number, after: string | null): Promise<{ rewrapped: number; failed: number; last: string | null }>;
  /**
   * Destroys a retired domain key: KMSInvalidStateException while it is active or any blob is wrapped under it,
   * NotFoundException when neither the token nor the database knows it.
   */
  destroy(id: string): Promise<void>;
}

export interface KeyRepository {
  insert(key: Key, firstVersion: KeyVersion): Promise<void>;
  /** A key of the account, or null. */
  get(accountId: string, keyId: string): Promise<Key | null>;
  /** Keys of the account ordered by id, after `marker` (an id) when given. */
  list(accountId: string, limit: number, marker: string | null): Promise<Page<Key>>;
  update(keyId: string, patch: Partial<Pick<Key, 'description' | 'state' | 'deletionDate' | 'pendingWindowDays' | 'currentVersionId'>>): Promise<void>;
  getVersion(keyId: string, versionId: string): Promise<KeyVersion | null>;
  listVersions(keyId: string): Promise<KeyVersion[]>;
  /** Adds a version that is not current (imported material pending an on-demand rotation). */
  addVersion(version: KeyVersion): Promise<void>;
  /** Removes a version that never became current, with its import record. */
  deleteVersion(keyId: string, versionId: string): Promise<void>;
  /**
   * Inside a unit of work: locks and returns one key whose deletion date has passed, skipping keys
   * another instance has locked (FOR UPDATE SKIP LOCKED), or null.
   */
  claimDueForDeletion(now: Date): Promise<Key | null>;
  /** Removes the key with its versions, aliases and tags. */
  delete(keyId: string): Promise<void>;
  /** A key of any account (cross-account use names keys by ARN, and blobs name keys by id). */
  findById(keyId: string): Promise<Key | null>;
  /**
   * Inside a unit of work: locks the key's row until the transaction ends and returns it as it is now (null once
   * deleted). Changes of a key's versions and materials (rotation, import, deletion of material) take it first, so
   * they run one at a time per key and each sees the others' results.
   */
  lockForUpdate(keyId: string): Promise<Key | null>;
}

export interface AliasRepository {
  /** Throws KmsError AlreadyExistsException when the name is taken in the account. */
  insert(alias: Alias): Promise<void>;
  get(accountId: string, name: string): Promise<Alias | null>;
  /** Points an existing alias at another key; returns false when the alias does not exist. */
  retarget(accountId: string, name: string, keyId: string, now: Date): Promise<boolean>;
  /** Returns false when the alias does not exist. */
  delete(accountId: string, name: string): Promise<boolean>;
  /** Aliases of the account ordered by name, optionally of one key, after `marker` (a name). */
  list(accountId: string, keyId: string | null, limit: number, marker: string | null): Promise<Page<Alias>>;
}

export interface TagRepository {
  /** Adds or overwrites tags of a key. */
  put(keyId: string, tags: Tag[]): Promise<void>;
  remove(keyId: string, tagKeys: string[]): Promise<void>;
  /** Tags ordered by key, after `marker` (a tag key). */
  list(keyId: string, limit: number, marker: string | null): Promise<Page<Tag>>;
  count(keyId: string): Promise<number>;
}

export interface AccessKeyRepository {
  get(accessKeyId: string): Promise<AccessKey | null>;
  /** Inserts, or replaces the sealed secret and status of an existing access key id. */
  upsert(key: AccessKey): Promise<void>;
  /** Any access key of the principal. */
  listForPrincipal(principalArn: string): Promise<AccessKey[]>;
  setStatus(accessKeyId: string, status: AccessKeyStatus): Promise<void>;
  /** Returns false when there was no such access key. */
  delete(accessKeyId: string): Promise<boolean>;
}

/**
 * Appends audit events outside any transaction with group commit: events arriving while a batch commits are chained
 * in arrival order into the next batch (one head lock, one INSERT, one commit). `append` resolves only once its
 * event is committed (durable before the answer goes out); a failed batch rejects every event in it.
 */
export interface AuditAppender {
  append(event: AuditEvent): Promise<void>;
  /** Events waiting for or inside a commit now. */
  readonly depth: number;
  /** Group commits made so far (committed or failed): events appended over batches is the mean batch size. */
  readonly batches: number;
}

export interface AuditRepository {
  /**
   * Appends the event at the head of the one linear chain. Inside a unit of work it commits with the transaction
   * (locking the chain head until it ends); outside one it goes through the AuditAppender and resolves once durable.
   */
  append(event: AuditEvent): Promise<void>;
  /** Newest first; for tests and the later audit viewer. */
  recent(limit: number): Promise<AuditEvent[]>;
  head(): Promise<ChainHead>;
  /** Chained events in chain order after `afterSeq`, at most `limit`. */
  chain(afterSeq: number, limit: number): Promise<ChainedEvent[]>;
  insertCheckpoint(checkpoint: Checkpoint): Promise<void>;
  lastCheckpoint(): Promise<Checkpoint | null>;
  /** Newest first, by chain position below `beforeSeq` when given. */
  lookup(filter: AuditLookupFilter, limit: number, beforeSeq: number | null): Promise<ChainedEvent[]>;
  /** The last chain position whose event is older than `time`, or null. */
  lastSeqBefore(time: Date): Promise<number | null>;
  /** Deletes the events up to `throughSeq` and moves the chain's base there (retention; archive first). */
  purge(throughSeq: number): Promise<number>;
  /**
   * The key's last successful cryptographic use (null when none since tracking began) and when this database began
   * tracking; appending an event that uses a key records it (core/audit.ts keysUsedBy), retention keeps it.
   */
  keyLastUse(keyId: string): Promise<{ last: KeyLastUse | null; trackingSince: Date }>;
}

export interface AuditLookupFilter {
  accountId: string;
  keyArn?: string;
  callerArn?: string;
  accessKeyId?: string;
  eventName?: string;
  eventId?: string;
  start?: Date;
  end?: Date;
}

export interface RotationRepository {
  getSettings(keyId: string): Promise<RotationSettings | null>;
  putSettings(settings: RotationSettings): Promise<void>;
  /** Adds a key version made by a rotation and its rotation row, and makes it the key's current version. */
  addRotation(version: KeyVersion, rotation: Rotation): Promise<void>;
  /** Adds the rotation row of an existing version (imported material pending rotation) and makes it current. */
  promote(rotation: Rotation): Promise<void>;
  /** Rotations of a key, oldest first, after `marker` (a version number) when given. */
  list(keyId: string, limit: number, marker: string | null): Promise<Page<Rotation>>;
  countOnDemand(keyId: string): Promise<number>;
  /**
   * Inside a unit of work: locks and returns the rotation setting of one enabled key due for automatic rotation,
   * skipping rows another instance has locked (FOR UPDATE SKIP LOCKED), or null.
   */
  claimDueForRotation(now: Date): Promise<{ settings: RotationSettings; key: Key } | null>;
}

export interface ImportRepository {
  /** Every material ever imported into the key (one per version that has had material). */
  list(keyId: string): Promise<ImportedMaterial[]>;
  /** Adds or replaces the record of one material (by version). */
  put(record: ImportedMaterial): Promise<void>;
  /**
   * Inside a unit of work: locks and returns one material still in the token whose ValidTo has passed, of a key not
   * pending deletion, skipping rows another instance has locked (FOR UPDATE SKIP LOCKED), or null.
   */
  claimExpired(now: Date): Promise<{ key: Key; material: ImportedMaterial } | null>;
  /** Records a wrapping key pair GetParametersForImport made. */
  addWrappingKey(wrapping: WrappingKey): Promise<void>;
  /**
   * Inside a unit of work: marks the wrapping key's token as used (locking its row) and returns true, or returns false
   * when it was already used, destroyed or never recorded.
   */
  useWrappingKey(versionId: string, now: Date): Promise<boolean>;
  removeWrappingKey(versionId: string): Promise<void>;
  /** Inside a unit of work: locks and returns one wrapping key whose token was used or has expired (SKIP LOCKED), or null. */
  claimSpentWrappingKey(now: Date): Promise<WrappingKey | null>;
}

export interface AccountRepository {
  /** Throws KmsError AlreadyExistsException when the id is taken. */
  insert(account: Account): Promise<void>;
  get(accountId: string): Promise<Account | null>;
}

export interface UserRepository {
  /** Throws KmsError AlreadyExistsException when the name is taken in the account. */
  insert(user: User): Promise<void>;
  get(accountId: string, userName: string): Promise<User | null>;
  /** As get, holding the user's row until the transaction ends: quota checks on the user (tags, access keys) take it first. */
  lockForUpdate(accountId: string, userName: string): Promise<User | null>;
  list(accountId: string): Promise<User[]>;
  /** Removes the user with its policies and tags; returns false when there was none. */
  delete(accountId: string, userName: string): Promise<boolean>;
  /** The user's tags (TagUser), by key. */
  tags(accountId: string, userName: string): Promise<Record<string, string>>;
  /** Adds the tags, replacing the values of keys the user already has. */
  putTags(accountId: string, userName: string, tags: Record<string, string>): Promise<void>;
  /** Removes the tags with these keys (absent keys are no error). */
  removeTags(accountId: string, userName: string, keys: readonly string[]): Promise<void>;
}

export interface UserPolicyRepository {
  /** Adds or replaces the named policy. */
  put(policy: UserPolicy): Promise<void>;
  get(accountId: string, userName: string, policyName: string): Promise<UserPolicy | null>;
  /** Ordered by policy name. */
  list(accountId: string, userName: string): Promise<UserPolicy[]>;
  delete(accountId: string, userName: string, policyName: string): Promise<boolean>;
}

export interface KeyPolicyRepository {
  /** Sets the key's (only) policy, named `default`. */
  put(keyId: string, document: string): Promise<void>;
  get(keyId: string): Promise<string | null>;
}

export interface GrantRepository {
  insert(grant: Grant): Promise<void>;
  get(keyId: string, grantId: string): Promise<Grant | null>;
  byToken(token: string): Promise<Grant | null>;
  /** Grants of a key ordered by creation, optionally only those of one grantee. */
  listForKey(keyId: string, granteePrincipal?: string): Promise<Grant[]>;
  /** Grants naming the principal as retiring principal. */
  listRetirable(retiringPrincipal: string): Promise<Grant[]>;
  delete(grantId: string): Promise<boolean>;
}

export interface Repositories {
  keys: KeyRepository;
  imports: ImportRepository;
  rotations: RotationRepository;
  aliases: AliasRepository;
  tags: TagRepository;
  accessKeys: AccessKeyRepository;
  audit: AuditRepository;
  accounts: AccountRepository;
  users: UserRepository;
  userPolicies: UserPolicyRepository;
  keyPolicies: KeyPolicyRepository;
  grants: GrantRepository;
}

/** A database transaction: everything `fn` does commits together or not at all. */
export interface UnitOfWork {
  transaction<T>(fn: (repos: Repositories) => Promise<T>): Promise<T>;
  /** Repositories outside any transaction, for reads. */
  readonly repos: Repositories;
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Tells the other instances sharing the database that key metadata, policies or grants changed (Postgres
 * LISTEN/NOTIFY), so their caches drop what they hold, and lets an instance prove that its own listener is current.
 */
export interface ChangeFeed {
  /**
   * Announces a change to every other listener; `scopes` name what changed (core/services/metadata-cache.ts), null:
   * anything. Inside a unit of work the notice is delivered when it commits, never on rollback.
   */
  announce(scopes: readonly string[] | null): Promise<void>;
  /** Sends a probe that only this instance's listener reports back (onProbe), after every notice committed before it. */
  probe(sentAt: number): Promise<void>;
  /**
   * Calls `onChange` for each change another instance announces (null: anything, and whenever the listening
   * connection (re)connects: notices may have been missed), and `onProbe` for this instance's probes.
   */
  listen(onChange: (scopes: string[] | null) => void, onProbe?: (sentAt: number) => void): Promise<void>;
}

/**
 * Where the HSM adapter keeps key versions' material wrapped under its domain keys (COFFER_KEY_STORE=wrapped).
 * The blobs are opaque here: the adapter makes them and alone can use them. Called inside a unit of work (CreateKey,
 * rotation, import, deletion), a write commits or rolls back with it; outside one it commits at once.
 */
export interface WrappedKeyStore {
  /** Stores a new version's blob; keeps the one already stored for the version (a retried create). */
  insert(versionId: string, domainKeyId: Uint8Array, blob: Uint8Array): Promise<void>;
  /** Stores a version's blob in place of any it had, and tells the other instances once committed. */
  replace(versionId: string, domainKeyId: Uint8Array, blob: Uint8Array): Promise<void>;
  get(versionId: string): Promise<Uint8Array | null>;
  /** Removes a version's blob (nothing to remove is fine) and tells the other instances once committed. */
  delete(versionId: string): Promise<void>;
  /**
   * Registers a domain key before it is made in the token (outside any unit of work): a blob can name only a
   * registered domain key (a foreign key), and a domain key is destroyed only after `forgetDomainKey`.
   */
  registerDomainKey(id: Uint8Array): Promise<void>;
  /** The registered domain keys with when they were registered and how many blobs name each. */
  domainKeyUsage(): Promise<Array<{ id: Uint8Array; createdAt: Date; versions: number }>>;
  /** Up to `limit` blobs under any of `domainKeyIds`, in version id order after `after` (by the domain key index). */
  under(domainKeyIds: readonly Uint8Array[], limit: number, after: string | null): Promise<Array<{ versionId: string; blob: Uint8Array }>>;
  /** Replaces a version's blob only if it is still `old` (the material is the same: no notice); false when it changed. */
  swap(versionId: string, old: Uint8Array, domainKeyId: Uint8Array, blob: Uint8Array): Promise<boolean>;
  /**
   * Deletes a domain key's registration, waiting for any transaction still inserting a blob under it. Returns the
   * number of blobs that still name it (0: deleted, or was not registered), and whether it was registered.
   */
  forgetDomainKey(id: Uint8Array): Promise<{ registered: boolean; versions: number }>;
  /**
   * Calls `onChange(versionId)` when an instance replaced or deleted a version's blob (this one included), and
   * `onChange(null)` when notices may have been missed (the listening connection (re)connected).
   */
  watch(onChange: (versionId: string | null) => void): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
