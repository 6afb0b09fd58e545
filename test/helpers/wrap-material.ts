// Wraps key material for ImportKeyMaterial with node:crypto exactly as AWS's documentation tells users to with OpenSSL:
// RSAES_OAEP_* is `openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:<h> -pkeyopt rsa_mgf1_md:<h>`;
// RSA_AES_KEY_WRAP_* is `openssl rand 32` as an AES key, `openssl enc -id-aes256-wrap-pad -K <key> -iv A65959A6` of
// the material, and the AES key OAEP-encrypted as above, put in front.
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import type { AlgorithmSpec } from '@aws-sdk/client-kms';

export function oaep(publicKey: Uint8Array, hash: 'sha1' | 'sha256', data: Uint8Array): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
}

export function wrap(algorithm: AlgorithmSpec, publicKey: Uint8Array, material: Uint8Array): Buffer {
  const hash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  if (algorithm.startsWith('RSAES_')) return oaep(publicKey, hash, material);
  const aesKey = randomBytes(32);
  const c = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('a65959a6', 'hex'));
  const wrappedMaterial = Buffer.concat([c.update(material), c.final()]);
  return Buffer.concat([oaep(publicKey, hash, aesKey), wrappedMaterial]);
}
