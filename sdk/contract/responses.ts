// The response shapes of the KMS operations as the SDK returns them (AWS's shapes): dates as Date, blobs as bytes.
import type { KmsOperation } from './kms.js';

export interface KeyMetadata {
  AWSAccountId?: string;
  KeyId: string;
  Arn?: string;
  CreationDate?: Date;
  Enabled?: boolean;
  Description?: string;
  KeyUsage?: string;
  KeyState?: string;
  DeletionDate?: Date;
  ValidTo?: Date;
  Origin?: string;
  CustomKeyStoreId?: string;
  ExpirationModel?: string;
  KeyManager?: string;
  CustomerMasterKeySpec?: string;
  KeySpec?: string;
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
  MultiRegion?: boolean;
  PendingDeletionWindowInDays?: number;
  /** Symmetric keys with material: the current version's material. */
  CurrentKeyMaterialId?: string;
}

export interface KeyListEntry { KeyId?: string; KeyArn?: string }
export interface AliasListEntry { AliasName?: string; AliasArn?: string; TargetKeyId?: string; CreationDate?: Date; LastUpdatedDate?: Date }
export interface Tag { TagKey: string; TagValue: string }
interface Paged { NextMarker?: string; Truncated?: boolean }
type Empty = Record<string, never>;

export interface KmsResponses {
  CreateKey: { KeyMetadata?: KeyMetadata };
  DescribeKey: { KeyMetadata?: KeyMetadata };
  GetKeyLastUsage: {
    KeyId?: string;
    /** Empty when the key has not been used for a successful cryptographic operation since TrackingStartDate. */
    KeyLastUsage?: { Operation?: string; Timestamp?: Date; CloudTrailEventId?: string; KmsRequestId?: string };
    TrackingStartDate?: Date;
    KeyCreationDate?: Date;
  };
  ListKeys: Paged & { Keys?: KeyListEntry[] };
  UpdateKeyDescription: Empty;
  EnableKey: Empty;
  DisableKey: Empty;
  ScheduleKeyDeletion: { KeyId?: string; DeletionDate?: Date; KeyState?: string; PendingWindowInDays?: number };
  CancelKeyDeletion: { KeyId?: string };
  Encrypt: { CiphertextBlob?: Uint8Array; KeyId?: string; EncryptionAlgorithm?: string };
  Decrypt: { KeyId?: string; Plaintext?: Uint8Array; EncryptionAlgorithm?: string; CiphertextForRecipient?: Uint8Array; KeyMaterialId?: string };
  ReEncrypt: {
    CiphertextBlob?: Uint8Array; SourceKeyId?: string; KeyId?: string;
    SourceEncryptionAlgorithm?: string; DestinationEncryptionAlgorithm?: string; SourceKeyMaterialId?: string; DestinationKeyMaterialId?: string;
  };
  GenerateDataKey: { CiphertextBlob?: Uint8Array; Plaintext?: Uint8Array; KeyId?: string; CiphertextForRecipient?: Uint8Array; KeyMaterialId?: string };
  GenerateDataKeyWithoutPlaintext: { CiphertextBlob?: Uint8Array; KeyId?: string; KeyMaterialId?: string };
  GenerateRandom: { Plaintext?: Uint8Array; CiphertextForRecipient?: Uint8Array };
  CreateAlias: Empty;
  UpdateAlias: Empty;
  DeleteAlias: Empty;
  ListAliases: Paged & { Aliases?: AliasListEntry[] };
  TagResource: Empty;
  UntagResource: Empty;
  ListResourceTags: Paged & { Tags?: Tag[] };
  /** Always empty: every key lives in the HSM the server is configured with (no custom key stores). */
  DescribeCustomKeyStores: Paged & { CustomKeyStores?: never[] };
}

// A compile error here when the contract gains an operation without a response shape.
export type KmsResponse<O extends KmsOperation> = KmsResponses[O];
type _Complete = { [O in KmsOperation]: KmsResponses[O] };
export type { _Complete };

/** Members AWS sends as epoch seconds, decoded to Date. */
export const DATE_MEMBERS = new Set([
  'CreationDate', 'DeletionDate', 'ValidTo', 'LastUpdatedDate', 'NextRotationDate', 'RotationDate', 'OnDemandRotationStartDate',
  'CreateDate', 'Timestamp', 'ParametersValidTo', 'EventTime', 'TrackingStartDate', 'KeyCreationDate',
]);
/** Members AWS sends as base64, decoded to bytes (and encoded from bytes in requests). */
export const BLOB_MEMBERS = new Set([
  'Plaintext', 'CiphertextBlob', 'CiphertextForRecipient', 'PublicKey', 'Signature', 'Message', 'Mac', 'SharedSecret',
  'KeyMaterial', 'ImportToken', 'PrivateKeyCiphertextBlob', 'PrivateKeyPlaintext',
]);
