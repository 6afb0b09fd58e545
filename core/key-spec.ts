// Key specs, key usages, origins, the valid spec × usage pairs and the algorithms each spec allows, as AWS KMS has them.

export const KEY_SPECS = [
  'SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521',
  'ECC_SECG_P256K1', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'ECC_NIST_EDWARDS25519',
] as const;
export type KeySpec = (typeof KEY_SPECS)[number];

export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export const ORIGINS = ['AWS_KMS', 'EXTERNAL'] as const;
export type Origin = (typeof ORIGINS)[number];

export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;
export type EncryptionAlgorithm = (typeof ENCRYPTION_ALGORITHMS)[number];

export const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512', 'ED25519_SHA_512',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
export type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

/** Every value AWS accepts for these members, so unknown values are ValidationException and known-but-unsupported ones are refused by usage. */
export const AWS_KEY_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ECC_NIST_EDWARDS25519',
  'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87',
] as const;
export const AWS_KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
export const AWS_ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
export const AWS_ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
export const DATA_KEY_SPECS = { AES_128: 16, AES_256: 32 } as const;
export type DataKeySpec = keyof typeof DATA_KEY_SPECS;

export type RsaSpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
export type EccSpec = 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'ECC_NIST_P521' | 'ECC_SECG_P256K1';
export type HmacSpec = 'HMAC_224' | 'HMAC_256' | 'HMAC_384' | 'HMAC_512';
export type EdSpec = 'ECC_NIST_EDWARDS25519';
export type AsymmetricSpec = RsaSpec | EccSpec | EdSpec;

export const isRsa = (s: string): s is RsaSpec => s.startsWith('RSA_');
/** The Weierstrass curves (ECDSA, ECDH); Ed25519 is isEd. */
export const isEcc = (s: string): s is EccSpec => s.startsWith('ECC_') && s !== 'ECC_NIST_EDWARDS25519';
export const isEd = (s: string): s is EdSpec => s === 'ECC_NIST_EDWARDS25519';
export const isHmac = (s: string): s is HmacSpec => s.startsWith('HMAC_');
/** The length of a generated HMAC key: the hash's output (HMAC_256: 32 bytes). */
export const hmacKeyBytes = (spec: HmacSpec): number => Number(spec.slice(5)) / 8;
export const isAsymmetric = (s: string): s is AsymmetricSpec => isRsa(s) || isEcc(s) || isEd(s);

/** The usages AWS allows for each spec; the first is the default. */
const USAGES: Record<KeySpec, readonly KeyUsage[]> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P384: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P521: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  HMAC_224: ['GENERATE_VERIFY_MAC'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
  ECC_NIST_EDWARDS25519: ['SIGN_VERIFY'],
};

export function isSupportedKeySpec(spec: string): spec is KeySpec {
  return (KEY_SPECS as readonly string[]).includes(spec);
}

export function isValidUsage(spec: KeySpec, usage: string): usage is KeyUsage {
  return (USAGES[spec] as readonly string[]).includes(usage);
}

/** The algorithm lists DescribeKey and GetPublicKey report for a key. */
export interface KeyAlgorithms {
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
}

export function algorithmsOf(spec: KeySpec, usage: KeyUsage): KeyAlgorithms {
  if (usage === 'ENCRYPT_DECRYPT') {
    return { EncryptionAlgorithms: spec === 'SYMMETRIC_DEFAULT' ? ['SYMMETRIC_DEFAULT'] : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] };
  }
  if (usage === 'SIGN_VERIFY') return { SigningAlgorithms: signingAlgorithmsOf(spec) };
  if (usage === 'GENERATE_VERIFY_MAC') return { MacAlgorithms: [`HMAC_SHA_${spec.slice(5)}`] };
  return { KeyAgreementAlgorithms: ['ECDH'] };
}

export function signingAlgorithmsOf(spec: KeySpec): SigningAlgorithm[] {
  if (isRsa(spec)) return SIGNING_ALGORITHMS.filter((a) => a.startsWith('RSASSA_'));
  switch (spec) {
    case 'ECC_NIST_P256':
    case 'ECC_SECG_P256K1':
      return ['ECDSA_SHA_256'];
    case 'ECC_NIST_P384':
      return ['ECDSA_SHA_384'];
    case 'ECC_NIST_P521':
      return ['ECDSA_SHA_512'];
    case 'ECC_NIST_EDWARDS25519':
      return ['ED25519_SHA_512'];
    default:
      return [];
  }
}

/** The hash of a signing or MAC algorithm: 'sha256' etc. as node:crypto names them. */
export function hashOf(algorithm: string): 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' {
  const m = /(?:SHA_?)(1|224|256|384|512)$/.exec(algorithm);
  if (!m) throw new TypeError(`no hash in ${algorithm}`);
  return `sha${m[1]}` as 'sha256';
}

export const HASH_BYTES = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 } as const;
