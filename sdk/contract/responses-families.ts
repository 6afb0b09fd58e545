// Response shapes of the families beyond kms.ts (asymmetric, rotation, import, access; CofferIdentity.; CofferAudit.;
// CofferAdmin.):
// AWS KMS's, IAM's and CloudTrail's shapes as the SDK returns them, dates as Date and blobs as bytes.
import type { AdminOperation, DOMAIN_KEY_STATES } from './admin.js';
import type { AuditOperation } from './audit.js';
import type { IdentityOperation } from './identity.js';
import type { KmsAccessOperation } from './kms-access.js';
import type { KmsAsymmetricOperation } from './kms-asymmetric.js';
import type { KmsImportOperation } from './kms-import.js';
import type { KmsRotationOperation } from './kms-rotation.js';

type Empty = Record<string, never>;
interface Paged { NextMarker?: string; Truncated?: boolean }

interface KeyAlgorithms {
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
  MacAlgorithms?: string[];
}

export interface DataKeyPair {
  PrivateKeyCiphertextBlob?: Uint8Array; PrivateKeyPlaintext?: Uint8Array; PublicKey?: Uint8Array; KeyId?: string;
  KeyPairSpec?: string; CiphertextForRecipient?: Uint8Array; KeyMaterialId?: string;
}

export interface KmsAsymmetricResponses {
  Sign: { KeyId?: string; Signature?: Uint8Array; SigningAlgorithm?: string };
  Verify: { KeyId?: string; SignatureValid?: boolean; SigningAlgorithm?: string };
  GetPublicKey: KeyAlgorithms & { KeyId?: string; PublicKey?: Uint8Array; CustomerMasterKeySpec?: string; KeySpec?: string; KeyUsage?: string };
  GenerateMac: { Mac?: Uint8Array; MacAlgorithm?: string; KeyId?: string };
  VerifyMac: { KeyId?: string; MacValid?: boolean; MacAlgorithm?: string };
  DeriveSharedSecret: { KeyId?: string; SharedSecret?: Uint8Array; CiphertextForRecipient?: Uint8Array; KeyAgreementAlgorithm?: string; KeyOrigin?: string };
  GenerateDataKeyPair: DataKeyPair;
  GenerateDataKeyPairWithoutPlaintext: Omit<DataKeyPair, 'PrivateKeyPlaintext' | 'CiphertextForRecipient'>;
}

export interface RotationsListEntry {
  KeyId?: string; KeyMaterialId?: string; KeyMaterialDescription?: string; ImportState?: string; KeyMaterialState?: string;
  ExpirationModel?: string; ValidTo?: Date; RotationDate?: Date; RotationType?: string;
}

export interface KmsRotationResponses {
  EnableKeyRotation: Empty;
  DisableKeyRotation: Empty;
  GetKeyRotationStatus: { KeyRotationEnabled?: boolean; KeyId?: string; RotationPeriodInDays?: number; NextRotationDate?: Date; OnDemandRotationStartDate?: Date };
  RotateKeyOnDemand: { KeyId?: string };
  ListKeyRotations: Paged & { Rotations?: RotationsListEntry[] };
}

export interface KmsImportResponses {
  GetParametersForImport: { KeyId?: string; ImportToken?: Uint8Array; PublicKey?: Uint8Array; ParametersValidTo?: Date };
  ImportKeyMaterial: { KeyId?: string; KeyMaterialId?: string };
  DeleteImportedKeyMaterial: { KeyId?: string; KeyMaterialId?: string };
}

export interface GrantConstraints { EncryptionContextSubset?: Record<string, string>; EncryptionContextEquals?: Record<string, string> }
export interface GrantListEntry {
  KeyId?: string; GrantId?: string; Name?: string; CreationDate?: Date; GranteePrincipal?: string; RetiringPrincipal?: string;
  IssuingAccount?: string; Operations?: string[]; Constraints?: GrantConstraints;
}

export interface KmsAccessResponses {
  PutKeyPolicy: Empty;
  GetKeyPolicy: { Policy?: string; PolicyName?: string };
  ListKeyPolicies: Paged & { PolicyNames?: string[] };
  CreateGrant: { GrantToken?: string; GrantId?: string };
  ListGrants: Paged & { Grants?: GrantListEntry[] };
  ListRetirableGrants: Paged & { Grants?: GrantListEntry[] };
  RetireGrant: Empty;
  RevokeGrant: Empty;
}

/** IAM's User (Coffer keeps every user at Path "/"). */
export interface IamUser { UserName: string; UserId: string; Arn: string; Path?: string; CreateDate: Date; Tags?: Array<{ Key: string; Value: string }> }
export interface AccessKeyMetadata { UserName?: string; AccessKeyId?: string; Status?: string; CreateDate?: Date }
/** The secret access key is returned once, by CreateAccessKey (and CreateAccount). */
export interface AccessKey extends AccessKeyMetadata { AccessKeyId: string; SecretAccessKey: string }
interface IamPaged { IsTruncated?: boolean; Marker?: string }

export interface IdentityResponses {
  CreateAccount: { Account: { AccountId: string; AccountName: string; Arn: string }; AccessKey: AccessKey };
  CreateUser: { User: IamUser };
  DeleteUser: Empty;
  GetUser: { User: IamUser };
  ListUsers: IamPaged & { Users: IamUser[] };
  CreateAccessKey: { AccessKey: AccessKey };
  UpdateAccessKey: Empty;
  DeleteAccessKey: Empty;
  ListAccessKeys: IamPaged & { AccessKeyMetadata: AccessKeyMetadata[] };
  PutUserPolicy: Empty;
  GetUserPolicy: { UserName: string; PolicyName: string; PolicyDocument: string };
  DeleteUserPolicy: Empty;
  ListUserPolicies: IamPaged & { PolicyNames: string[] };
  TagUser: Empty;
  UntagUser: Empty;
  ListUserTags: IamPaged & { Tags: Array<{ Key: string; Value: string }> };
}

/** CloudTrail's LookupEvents entry; CloudTrailEvent is the full record as JSON text. */
export interface AuditEvent {
  EventId?: string; EventName?: string; ReadOnly?: string; AccessKeyId?: string; EventTime?: Date; EventSource?: string;
  Username?: string; Resources?: { ResourceType?: string; ResourceName?: string }[]; CloudTrailEvent?: string;
}

export interface AuditResponses {
  LookupEvents: { Events?: AuditEvent[]; NextToken?: string };
  /** The audit-signing key (SPKI DER). */
  GetPublicKey: { PublicKey?: Uint8Array; KeySpec?: string; SigningAlgorithms?: string[]; KeyUsage?: string };
  /** A signed checkpoint of the audit chain: Signature is DER ECDSA, PublicKey SPKI DER, Time ISO-8601. */
  CreateCheckpoint: { ChainSeq?: number; Hash?: string; Time?: string; Signature?: Uint8Array; PublicKey?: Uint8Array };
  /** The chain checked from its base; BrokenLink names the first bad event or checkpoint; Summary is one line. */
  VerifyChain: {
    Valid: boolean; EventCount: number; FirstSeq?: number; LastSeq?: number; CheckpointsVerified: number;
    BrokenLink?: { ChainSeq: number; EventId?: string; Reason: string }; Summary: string;
  };
}

export interface DomainKey {
  /** CKA_ID in hex. */
  DomainKeyId: string;
  /** ACTIVE wraps new material; RETIRED only unwraps; MISSING: registered, but the token no longer holds it. */
  State: (typeof DOMAIN_KEY_STATES)[number];
  /** Key versions whose material is wrapped under it. */
  KeyVersionCount: number;
  /** When it was made (absent for a token key from before domain keys were registered). */
  CreationDate?: Date;
}

export interface AdminResponses {
  /** KeyStore TOKEN: every key version is a token object, there are no domain keys. */
  DescribeDomainKeys: { KeyStore: 'WRAPPED' | 'TOKEN'; DomainKeys: DomainKey[] };
  RotateDomainKey: { DomainKeyId: string; RetiredDomainKeyIds: string[] };
  DestroyDomainKey: { DomainKeyId: string };
}

// Compile errors here when a contract gains an operation without a response shape.
type _Complete = [
  { [O in KmsAsymmetricOperation]: KmsAsymmetricResponses[O] }, { [O in KmsRotationOperation]: KmsRotationResponses[O] },
  { [O in KmsImportOperation]: KmsImportResponses[O] }, { [O in KmsAccessOperation]: KmsAccessResponses[O] },
  { [O in IdentityOperation]: IdentityResponses[O] }, { [O in AuditOperation]: AuditResponses[O] },
  { [O in AdminOperation]: AdminResponses[O] },
];
export type { _Complete as _CompleteFamilies };
