// What imported key material each key spec accepts, as AWS has it: the wrapping algorithms allowed for it, the form of
// the material (256 bits for SYMMETRIC_DEFAULT, an HMAC key within the spec's length range, the DER PKCS #8 private key
// of the spec's type, size or curve), and a check value that recognises the same material when it is imported again.
import { createCipheriv, createHash, createHmac, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { KmsError, needs } from '../errors.js';
import { isAsymmetric, isEcc, isEd, isHmac, isRsa, type HmacSpec, type KeySpec } from '../key-spec.js';

const CHECK_IV = Buffer.alloc(12);
const CHECK_INPUT = Buffer.alloc(16);
const CHECK_AAD = Buffer.from('coffer:import-check');
const CONSISTENCY_MESSAGE = Buffer.from('coffer:imported-key-pair-check');

/** AWS: HMAC key material from the hash's output length up to its block size, in bytes (not re-checked against the page). */
export const HMAC_MATERIAL_BYTES: Record<HmacSpec, readonly [number, number]> = {
  HMAC_224: [28, 64], HMAC_256: [32, 64], HMAC_384: [48, 128], HMAC_512: [64, 128],
};

/** node:crypto's name of each Weierstrass curve, as asymmetricKeyDetails.namedCurve reports it. */
const NODE_CURVES: Record<string, string> = {
  ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1', ECC_SECG_P256K1: 'secp256k1',
};

/**
 * GetParametersForImport: AWS requires an RSA_AES wrapping algorithm for RSA private keys (they exceed what RSAES-OAEP
 * can carry), and refuses ECC_NIST_P521 material with an RSA_2048 wrapping key under RSAES-OAEP.
 */
export function checkWrappingFor(spec: KeySpec, wrappingAlgorithm: string, wrappingKeySpec: string): void {
  const direct = wrappingAlgorithm.startsWith('RSAES_');
  needs(
    !(direct && isRsa(spec)),
    'ValidationException',
    `WrappingAlgorithm ${wrappingAlgorithm} cannot wrap ${spec} key material: RSA private keys need RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.`,
  );
  needs(
    !(direct && spec === 'ECC_NIST_P521' && wrappingKeySpec === 'RSA_2048'),
    'ValidationException',
    `WrappingAlgorithm ${wrappingAlgorithm} with WrappingKeySpec RSA_2048 cannot wrap ECC_NIST_P521 key material: use a larger wrapping key or an RSA_AES_KEY_WRAP wrapping algorithm.`,
  );
}

const incorrect = (message: string) => new KmsError('IncorrectKeyMaterialException', message);

/**
 * Checks the unwrapped material against the key's spec and returns its check value (for SYMMETRIC_DEFAULT and HMAC an
 * authenticator under the material of a fixed input; for key pairs the SHA-256 of the public key). None reveals the
 * material. Throws IncorrectKeyMaterialException when the material does not fit the spec.
 */
export function checkValueOfMaterial(spec: KeySpec, material: Buffer): Buffer {
  if (isAsymmetric(spec)) return checkValueOfPublicKey(publicKeyOfPrivate(spec, material));
  if (isHmac(spec)) {
    const [min, max] = HMAC_MATERIAL_BYTES[spec];
    needs(material.length >= min && material.length <= max, 'IncorrectKeyMaterialException', `The key material for a ${spec} key must be ${min} to ${max} bytes.`);
    return createHmac('sha256', material).update(CHECK_AAD).digest();
  }
  needs(material.length === 32, 'IncorrectKeyMaterialException', 'The key material must be 256 bits for a SYMMETRIC_DEFAULT key.');
  const c = createCipheriv('aes-256-gcm', material, CHECK_IV).setAAD(CHECK_AAD);
  return Buffer.concat([c.update(CHECK_INPUT), c.final(), c.getAuthTag()]);
}

/** The check value of a key pair: the SHA-256 of its public key (SPKI DER). */
export function checkValueOfPublicKey(spki: Uint8Array): Buffer {
  return createHash('sha256').update(spki).digest();
}

/** The DER SubjectPublicKeyInfo of a PKCS #8 private key of the spec; IncorrectKeyMaterialException when it is not one. */
function publicKeyOfPrivate(spec: KeySpec, der: Buffer): Buffer {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw incorrect(`The key material for a ${spec} key must be a DER-encoded PKCS #8 private key.`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  const fits = isRsa(spec)
    ? key.asymmetricKeyType === 'rsa' && details.modulusLength === Number(spec.slice(4))
    : isEcc(spec)
      ? key.asymmetricKeyType === 'ec' && details.namedCurve === NODE_CURVES[spec]
      : isEd(spec) && key.asymmetricKeyType === 'ed25519';
  if (!fits) throw incorrect(`The key material is not a ${spec} private key.`);
  if (isRsa(spec) && !rsaComponentsAgree(key)) throw incorrect(`The key material is not a consistent ${spec} key pair.`);
  const publicKey = createPublicKey(key);
  // A PKCS #8 key may carry a public key (EC, Ed25519) or CRT values (RSA) that do not belong to its private key.
  const hash = isEd(spec) ? null : 'sha256';
  if (!verify(hash, CONSISTENCY_MESSAGE, publicKey, sign(hash, CONSISTENCY_MESSAGE, key))) {
    throw incorrect(`The key material is not a consistent ${spec} key pair.`);
  }
  return publicKey.export({ type: 'spki', format: 'der' });
}

const big = (v: string | undefined): bigint => BigInt(`0x${Buffer.from(v ?? '', 'base64url').toString('hex') || '0'}`);
const modPow = (b: bigint, e: bigint, m: bigint): bigint => {
  let r = 1n;
  for (let x = b % m, k = e; k > 0n; k >>= 1n, x = (x * x) % m) if (k & 1n) r = (r * x) % m;
  return r;
};

/** The token signs with the CRT values (OpenSSL would quietly fall back to d), so every component must agree. */
function rsaComponentsAgree(key: KeyObject): boolean {
  const j = key.export({ format: 'jwk' });
  const [n, e, d, p, q, dp, dq, qi] = [j.n, j.e, j.d, j.p, j.q, j.dp, j.dq, j.qi].map(big) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  if (p < 3n || q < 3n) return false;
  // e·d ≡ 1 (mod λ(n)) shown by 2^(e·d) ≡ 2 (mod n).
  return p * q === n && dp === d % (p - 1n) && dq === d % (q - 1n) && (qi * q) % p === 1n && modPow(modPow(2n, e, n), d, n) === 2n;
}
