// The request shapes of the KMS operations Coffer serves, with AWS's member constraints.
// The server validates against these; the SDK's types derive from them, so the two cannot drift.
import { z } from 'zod';
import { blob, encryptionContext, grantTokens, int, keyIdMember, marker, oneOf, str, tag } from './shapes.js';

const KEY_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ECC_NIST_EDWARDS25519',
  'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87',
] as const;
const KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
const ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
const DATA_KEY_SPECS = ['AES_256', 'AES_128'] as const;

const aliasName = str(1, 256).regex(/^[a-zA-Z0-9:/_-]+$/, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$');
const limit = (max: number) => int(1, max).optional();
const dryRun = z.boolean().optional();
const algorithm = oneOf(ENCRYPTION_ALGORITHMS).optional();
const recipient = z.object({}).passthrough().optional();

export const kmsRequests = {
  CreateKey: z.object({
    Policy: str(1, 32768).optional(),
    Description: str(0, 8192).optional(),
    KeyUsage: oneOf(KEY_USAGES).optional(),
    CustomerMasterKeySpec: oneOf(KEY_SPECS).optional(),
    KeySpec: oneOf(KEY_SPECS).optional(),
    Origin: oneOf(ORIGINS).optional(),
    CustomKeyStoreId: str(1, 64).optional(),
    BypassPolicyLockoutSafetyCheck: z.boolean().optional(),
    Tags: z.array(tag).optional(),
    MultiRegion: z.boolean().optional(),
    XksKeyId: str(1, 128).optional(),
  }),
  DescribeKey: z.object({ KeyId: keyIdMember, GrantTokens: grantTokens }),
  GetKeyLastUsage: z.object({ KeyId: keyIdMember }),
  ListKeys: z.object({ Limit: limit(1000), Marker: marker }),
  UpdateKeyDescription: z.object({ KeyId: keyIdMember, Description: str(0, 8192) }),
  EnableKey: z.object({ KeyId: keyIdMember }),
  DisableKey: z.object({ KeyId: keyIdMember }),
  ScheduleKeyDeletion: z.object({ KeyId: keyIdMember, PendingWindowInDays: int(1, 365).optional() }),
  CancelKeyDeletion: z.object({ KeyId: keyIdMember }),
  Encrypt: z.object({
    KeyId: keyIdMember,
    Plaintext: blob(1, 4096),
    EncryptionContext: encryptionContext,
    GrantTokens: grantTokens,
    EncryptionAlgorithm: algorithm,
    DryRun: dryRun,
  }),
  Decrypt: z.object({
    CiphertextBlob: blob(1, 6144),
    EncryptionContext: encryptionContext,
    GrantTokens: grantTokens,
    KeyId: keyIdMember.optional(),
    EncryptionAlgorithm: algorithm,
    Recipient: recipient,
    DryRun: dryRun,
  }),
  ReEncrypt: z.object({
    CiphertextBlob: blob(1, 6144),
    SourceEncryptionContext: encryptionContext,
    SourceKeyId: keyIdMember.optional(),
    DestinationKeyId: keyIdMember,
    DestinationEncryptionContext: encryptionContext,
    SourceEncryptionAlgorithm: algorithm,
    DestinationEncryptionAlgorithm: algorithm,
    GrantTokens: grantTokens,
    DryRun: dryRun,
  }),
  GenerateDataKey: z.object({
    KeyId: keyIdMember,
    EncryptionContext: encryptionContext,
    NumberOfBytes: int(1, 1024).optional(),
    KeySpec: oneOf(DATA_KEY_SPECS).optional(),
    GrantTokens: grantTokens,
    Recipient: recipient,
    DryRun: dryRun,
  }),
  GenerateDataKeyWithoutPlaintext: z.object({
    KeyId: keyIdMember,
    EncryptionContext: encryptionContext,
    KeySpec: oneOf(DATA_KEY_SPECS).optional(),
    NumberOfBytes: int(1, 1024).optional(),
    GrantTokens: grantTokens,
    DryRun: dryRun,
  }),
  GenerateRandom: z.object({
    NumberOfBytes: int(1, 1024).optional(),
    CustomKeyStoreId: str(1, 64).optional(),
    Recipient: recipient,
  }),
  CreateAlias: z.object({ AliasName: aliasName, TargetKeyId: keyIdMember }),
  UpdateAlias: z.object({ AliasName: aliasName, TargetKeyId: keyIdMember }),
  DeleteAlias: z.object({ AliasName: aliasName }),
  ListAliases: z.object({ KeyId: keyIdMember.optional(), Limit: limit(100), Marker: marker }),
  TagResource: z.object({ KeyId: keyIdMember, Tags: z.array(tag) }),
  UntagResource: z.object({ KeyId: keyIdMember, TagKeys: z.array(str(1, 128)) }),
  ListResourceTags: z.object({ KeyId: keyIdMember, Limit: limit(50), Marker: marker }),
  DescribeCustomKeyStores: z.object({ CustomKeyStoreId: str(1, 64).optional(), CustomKeyStoreName: str(1, 256).optional(), Limit: limit(1000), Marker: marker }),
} as const;

export type KmsOperation = keyof typeof kmsRequests;
export type KmsRequest<O extends KmsOperation> = z.output<(typeof kmsRequests)[O]>;
export const KMS_OPERATIONS = Object.keys(kmsRequests) as KmsOperation[];

/** Request members whose values must never be echoed in an error message. */
export const SENSITIVE_MEMBERS = new Set(['Plaintext', 'CiphertextBlob', 'Policy', 'EncryptionContext', 'SourceEncryptionContext', 'DestinationEncryptionContext', 'GrantTokens', 'GrantToken', 'PolicyDocument', 'Constraints', 'Message', 'Mac', 'Signature', 'ImportToken', 'EncryptedKeyMaterial']);
