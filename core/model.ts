// Domain records: keys, key versions, aliases, tags, principals. Repositories return these, never rows.
import type { KeySpec, KeyUsage, Origin } from './key-spec.js';
import type { KeyState } from './key-state.js';

export interface Key {
  id: string;
  accountId: string;
  description: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  origin: Origin;
  state: KeyState;
  createdAt: Date;
  /** When a key pending deletion is destroyed. */
  deletionDate: Date | null;
  pendingWindowDays: number | null;
  /** The version new ciphertexts use. */
  currentVersionId: string;
}

/** One generation of a key's material; its id is the CKA_ID of the root key object in the token. */
export interface KeyVersion {
  id: string;
  keyId: string;
  version: number;
  createdAt: Date;
}

export type RotationType = 'AUTOMATIC' | 'ON_DEMAND';

/** Whether and how often a key rotates automatically. */
export interface RotationSettings {
  keyId: string;
  enabled: boolean;
  periodDays: number;
  nextRotationDate: Date | null;
}

/** One rotation: the key version it made. */
export interface Rotation {
  keyId: string;
  versionId: string;
  version: number;
  rotationDate: Date;
  rotationType: RotationType;
}

/**
 * What is known of one imported key material (a key version): a check value (to refuse different material later),
 * its expiry and description, and whether it is in the token now (false once deleted or expired).
 */
export interface ImportedMaterial {
  keyId: string;
  versionId: string;
  checkValue: Uint8Array;
  expirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo: Date | null;
  description: string | null;
  imported: boolean;
}

export interface Alias {
  accountId: string;
  name: string;
  keyId: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export type AccessKeyStatus = 'Active' | 'Inactive';

/** An access key of a principal; the secret is sealed by a token key, so a database dump reveals none. */
export interface AccessKey {
  accessKeyId: string;
  principalArn: string;
  accountId: string;
  userName: string;
  sealedSecret: Uint8Array;
  status: AccessKeyStatus;
  createdAt: Date;
}

/** Who is calling, as established by SigV4. */
export interface Caller {
  arn: string;
  accountId: string;
  userName: string;
  accessKeyId: string;
  /** The user's IAM-style unique id (AIDA…), aws:userid; absent where the caller was not looked up (tests, jobs). */
  userId?: string;
  /** The user's tags (TagUser): aws:PrincipalTag/<key>; absent where the caller was not looked up. */
  principalTags?: Readonly<Record<string, string>>;
}

export interface Page<T> {
  items: T[];
  /** Opaque marker for the next page, or null on the last page. */
  next: string | null;
}

/** A wrapping key pair made by GetParametersForImport (CKA_ID = versionId): destroyed once its token is used or expires. */
export interface WrappingKey {
  versionId: string;
  keyId: string;
  accountId: string;
  validTo: Date;
  /** Set, in the importing transaction, when ImportKeyMaterial used its token. */
  usedAt: Date | null;
}
