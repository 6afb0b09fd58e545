// Bring your own key: wraps key material for ImportKeyMaterial in this process, exactly as AWS's documentation tells
// users to with OpenSSL, and imports it. RSAES_OAEP_* is `openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep
// -pkeyopt rsa_oaep_md:<h> -pkeyopt rsa_mgf1_md:<h>`; RSA_AES_KEY_WRAP_* is `openssl rand 32` as an AES key,
// `openssl enc -id-aes256-wrap-pad -K <key> -iv A65959A6` of the material, and the AES key OAEP-encrypted as above,
// put in front. The material itself is never sent: only the wrapped form, under a key pair the server made for it.
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import type { CofferClient } from './client.js';
import type { KmsImportResponses } from './contract/responses-families.js';

export type WrappingAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256';
export type WrappingKeySpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096';

/** RSAES-OAEP with `hash` for both the digest and MGF1, under a SubjectPublicKeyInfo (DER) public key. */
export function oaepEncrypt(publicKey: Uint8Array, hash: 'sha1' | 'sha256', data: Uint8Array): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
}

/** The EncryptedKeyMaterial of `material` under GetParametersForImport's PublicKey. */
export function wrapKeyMaterial(algorithm: WrappingAlgorithm, publicKey: Uint8Array, material: Uint8Array): Buffer {
  const hash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  if (algorithm.startsWith('RSAES_')) return oaepEncrypt(publicKey, hash, material);
  const aesKey = randomBytes(32);
  try {
    const c = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('a65959a6', 'hex'));
    const wrappedMaterial = Buffer.concat([c.update(material), c.final()]);
    return Buffer.concat([oaepEncrypt(publicKey, hash, aesKey), wrappedMaterial]);
  } finally {
    aesKey.fill(0);
  }
}

/**
 * The largest material RSAES-OAEP-SHA-256 carries under RSA_3072 is 318 bytes; symmetric and HMAC material is far
 * smaller, a private key (PKCS #8) larger, so key pairs go through RSA_AES_KEY_WRAP.
 */
const defaultAlgorithm = (material: Uint8Array): WrappingAlgorithm => (material.length <= 256 ? 'RSAES_OAEP_SHA_256' : 'RSA_AES_KEY_WRAP_SHA_256');

export interface ImportMaterialOptions {
  /** Default RSAES_OAEP_SHA_256 for material up to 256 bytes, else RSA_AES_KEY_WRAP_SHA_256. */
  wrappingAlgorithm?: WrappingAlgorithm;
  /** Default RSA_3072. */
  wrappingKeySpec?: WrappingKeySpec;
  /** Expiry of the material; without it the material does not expire. */
  validTo?: Date;
  /** NEW_KEY_MATERIAL: material for an on-demand rotation (symmetric keys that already have material). */
  importType?: 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';
  keyMaterialId?: string;
  keyMaterialDescription?: string;
}

/** GetParametersForImport, the wrapping here, then ImportKeyMaterial: the whole import of `material` into the key. */
export async function importKeyMaterialFrom(client: CofferClient, keyId: string, material: Uint8Array, options: ImportMaterialOptions = {}): Promise<KmsImportResponses['ImportKeyMaterial']> {
  const WrappingAlgorithm = options.wrappingAlgorithm ?? defaultAlgorithm(material);
  const params = await client.getParametersForImport({ KeyId: keyId, WrappingAlgorithm, WrappingKeySpec: options.wrappingKeySpec ?? 'RSA_3072' });
  if (!params.PublicKey || !params.ImportToken) throw new Error('GetParametersForImport answered without a public key or import token');
  return client.importKeyMaterial({
    KeyId: keyId,
    ImportToken: params.ImportToken,
    EncryptedKeyMaterial: wrapKeyMaterial(WrappingAlgorithm, params.PublicKey, material),
    ...(options.validTo ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: options.validTo } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
    ...(options.importType ? { ImportType: options.importType } : {}),
    ...(options.keyMaterialId ? { KeyMaterialId: options.keyMaterialId } : {}),
    ...(options.keyMaterialDescription !== undefined ? { KeyMaterialDescription: options.keyMaterialDescription } : {}),
  });
}
