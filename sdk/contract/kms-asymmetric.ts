// Request shapes of the asymmetric, HMAC and key agreement operations (Sign, Verify, GetPublicKey, GenerateMac,
// VerifyMac, DeriveSharedSecret, GenerateDataKeyPair(WithoutPlaintext)) with AWS's member constraints.
import { z } from 'zod';
import { blob, encryptionContext, grantTokens, keyIdMember, oneOf } from './shapes.js';

const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512', 'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512', 'SM2DSA', 'ML_DSA_SHAKE_256', 'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
] as const;
const MESSAGE_TYPES = ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const;
const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
const KEY_PAIR_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SM2',
  'ECC_NIST_EDWARDS25519',
] as const;
const dryRun = z.boolean().optional();
const recipient = z.object({}).passthrough().optional();

const signRequest = {
  KeyId: keyIdMember,
  Message: blob(1, 4096),
  MessageType: oneOf(MESSAGE_TYPES).optional(),
  GrantTokens: grantTokens,
  SigningAlgorithm: oneOf(SIGNING_ALGORITHMS),
  DryRun: dryRun,
};

const macRequest = {
  Message: blob(1, 4096),
  KeyId: keyIdMember,
  MacAlgorithm: oneOf(MAC_ALGORITHMS),
  GrantTokens: grantTokens,
  DryRun: dryRun,
};

const dataKeyPair = {
  EncryptionContext: encryptionContext,
  KeyId: keyIdMember,
  KeyPairSpec: oneOf(KEY_PAIR_SPECS),
  GrantTokens: grantTokens,
  DryRun: dryRun,
};

export const kmsAsymmetricRequests = {
  Sign: z.object(signRequest),
  Verify: z.object({ ...signRequest, Signature: blob(1, 6144) }),
  GetPublicKey: z.object({ KeyId: keyIdMember, GrantTokens: grantTokens }),
  GenerateMac: z.object(macRequest),
  VerifyMac: z.object({ ...macRequest, Mac: blob(1, 6144) }),
  DeriveSharedSecret: z.object({
    KeyId: keyIdMember,
    KeyAgreementAlgorithm: oneOf(['ECDH'] as const),
    PublicKey: blob(1, 8192),
    GrantTokens: grantTokens,
    DryRun: dryRun,
    Recipient: recipient,
  }),
  GenerateDataKeyPair: z.object({ ...dataKeyPair, Recipient: recipient }),
  GenerateDataKeyPairWithoutPlaintext: z.object(dataKeyPair),
} as const;

export type KmsAsymmetricOperation = keyof typeof kmsAsymmetricRequests;
export type KmsAsymmetricRequest<O extends KmsAsymmetricOperation> = z.output<(typeof kmsAsymmetricRequests)[O]>;
