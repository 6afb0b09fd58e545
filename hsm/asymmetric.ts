// Token operations on key pairs and HMAC keys within one session: generate, read the public key, sign, verify,
// RSA decrypt (OAEP-SHA-1 in the token; OAEP-SHA-256 as raw RSA in the token + decoding in process), HMAC, ECDH.
import { createPublicKey } from 'node:crypto';
import { invalidCiphertext } from '../core/errors.js';
import { hmacKeyBytes, isEcc, isEd, isRsa, type AsymmetricSpec, type EccSpec, type HmacSpec, type KeyUsage, type RsaSpec, type SigningAlgorithm } from '../core/key-spec.js';
import { CURVES, ecdsaDerToRaw, ecdsaRawToDer, ecSpki, ed25519Spki, unwrapEcPoint } from './der.js';
import { afterCryptFailure, ckrName } from './errors.js';
import { hmacMechanism } from './mechanisms.js';
import { ck, type Handle, type PKCS11 } from './module.js';
import { oaepDecode } from './oaep.js';
import {
  ecKeyPairTemplates, edKeyPairTemplates, hmacKeyTemplate, PUBLIC_EC_ATTRIBUTES, PUBLIC_RSA_ATTRIBUTES, rsaKeyPairTemplates,
  sharedSecretTemplate, VALUE_ATTRIBUTE, type PairUsage,
} from './templates.js';

const DIGEST_INFO: Record<string, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};
const PSS: Record<string, { hashAlg: number; mgf: number; saltLen: number }> = {
  sha256: { hashAlg: ck.CKM_SHA256, mgf: ck.CKG_MGF1_SHA256, saltLen: 32 },
  sha384: { hashAlg: ck.CKM_SHA384, mgf: ck.CKG_MGF1_SHA384, saltLen: 48 },
  sha512: { hashAlg: ck.CKM_SHA512, mgf: ck.CKG_MGF1_SHA512, saltLen: 64 },
};

export const rsaBytes = (spec: string): number => Number(spec.slice(4)) / 8;
/** pkcs11js 2.1.7 does not name these PKCS#11 3.0 mechanisms; SoftHSM 2.6.1 offers them (measured). */
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
export const signatureBytes = (spec: AsymmetricSpec): number => (isEd(spec) ? 64 : isEcc(spec) ? CURVES[spec].size * 2 : rsaBytes(spec));
const hashName = (alg: string): string => `sha${alg.slice(-3)}`;

export async function generateKeyPair(lib: PKCS11, s: Handle, versionId: string, spec: AsymmetricSpec, usage: KeyUsage): Promise<void> {
  const u = usage as PairUsage;
  if (isRsa(spec)) {
    const t = rsaKeyPairTemplates(versionId, rsaBytes(spec) * 8, u);
    await lib.C_GenerateKeyPairAsync(s, { mechanism: ck.CKM_RSA_PKCS_KEY_PAIR_GEN }, t.publicKey, t.privateKey);
  } else if (isEd(spec)) {
    const t = edKeyPairTemplates(versionId);
    await lib.C_GenerateKeyPairAsync(s, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, t.publicKey, t.privateKey);
  } else {
    const t = ecKeyPairTemplates(versionId, CURVES[spec].oid, u);
    await lib.C_GenerateKeyPairAsync(s, { mechanism: ck.CKM_EC_KEY_PAIR_GEN }, t.publicKey, t.privateKey);
  }
}

/** A key pair as session objects, the private half extractable only to be wrapped (the wrapped key store). */
export async function generateSessionKeyPair(lib: PKCS11, s: Handle, spec: EccSpec | RsaSpec, usage: PairUsage): Promise<{ publicKey: Handle; privateKey: Handle }> {
  if (isRsa(spec)) {
    const t = rsaKeyPairTemplates(null, rsaBytes(spec) * 8, usage);
    return lib.C_GenerateKeyPairAsync(s, { mechanism: ck.CKM_RSA_PKCS_KEY_PAIR_GEN }, t.publicKey, t.privateKey);
  }
  const t = ecKeyPairTemplates(null, CURVES[spec].oid, usage);
  return lib.C_GenerateKeyPairAsync(s, { mechanism: ck.CKM_EC_KEY_PAIR_GEN }, t.publicKey, t.privateKey);
}

export async function generateHmacKey(lib: PKCS11, s: Handle, versionId: string, spec: HmacSpec): Promise<void> {
  await lib.C_GenerateKeyAsync(s, { mechanism: ck.CKM_GENERIC_SECRET_KEY_GEN }, hmacKeyTemplate(versionId, hmacKeyBytes(spec)));
}

/** The DER SubjectPublicKeyInfo of a public key object. */
export function readPublicKey(lib: PKCS11, s: Handle, pub: Handle, spec: AsymmetricSpec): Buffer {
  if (isEd(spec)) return ed25519Spki(unwrapEcPoint(attribute(lib, s, pub, ck.CKA_EC_POINT)));
  if (isEcc(spec)) {
    const [params, point] = PUBLIC_EC_ATTRIBUTES.map((a) => attribute(lib, s, pub, a.type));
    return ecSpki(params as Buffer, unwrapEcPoint(point as Buffer));
  }
  const [n, e] = PUBLIC_RSA_ATTRIBUTES.map((a) => attribute(lib, s, pub, a.type));
  const jwk = { kty: 'RSA', n: (n as Buffer).toString('base64url'), e: (e as Buffer).toString('base64url') };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

/** One attribute at a time: pkcs11js sizes a multi-attribute read wrongly for some objects (CKR_BUFFER_TOO_SMALL, measured). */
function attribute(lib: PKCS11, s: Handle, h: Handle, type: number): Buffer {
  const [a] = lib.C_GetAttributeValue(s, h, [{ type }]);
  return a?.value as Buffer;
}

/** The mechanism and the token input for signing `digest` with `algorithm` (also the bench's raw sign loop). */
export function signing(algorithm: SigningAlgorithm, digest: Uint8Array): { mech: Parameters<PKCS11['C_SignInit']>[1]; input: Buffer } {
  if (algorithm === 'ED25519_SHA_512') return { mech: { mechanism: CKM_EDDSA }, input: Buffer.from(digest) };
  const h = hashName(algorithm);
  if (algorithm.startsWith('ECDSA_')) return { mech: { mechanism: ck.CKM_ECDSA }, input: Buffer.from(digest) };
  if (algorithm.startsWith('RSASSA_PKCS1_')) {
    return { mech: { mechanism: ck.CKM_RSA_PKCS }, input: Buffer.concat([DIGEST_INFO[h] as Buffer, digest]) };
  }
  const p = PSS[h] as (typeof PSS)[string];
  return { mech: { mechanism: ck.CKM_RSA_PKCS_PSS, parameter: { type: ck.CK_PARAMS_RSA_PSS, ...p } }, input: Buffer.from(digest) };
}

/**
 * C_Sign on the event loop (`sync`, for operations cheaper than the pool hop: hsm/sync-calls.ts) or on libuv's pool.
 * The output buffer is always big enough: a CKR_BUFFER_TOO_SMALL would leave the operation active.
 */
async function sign(lib: PKCS11, s: Handle, input: Buffer, maxBytes: number, sync: boolean): Promise<Buffer> {
  try {
    return sync ? lib.C_Sign(s, input, Buffer.alloc(maxBytes)) : await lib.C_SignAsync(s, input, Buffer.alloc(maxBytes));
  } catch (e) {
    throw afterCryptFailure(e);
  }
}

/** Signs a digest; ECDSA signatures come back DER-encoded, as AWS returns them. */
export async function signDigest(
  lib: PKCS11, s: Handle, priv: Handle, spec: AsymmetricSpec, algorithm: SigningAlgorithm, digest: Uint8Array, sync = false,
): Promise<Buffer> {
  const { mech, input } = signing(algorithm, digest);
  lib.C_SignInit(s, mech, priv);
  const raw = await sign(lib, s, input, signatureBytes(spec), sync);
  return isEcc(spec) ? ecdsaRawToDer(raw) : raw;
}

/** True when `signature` (DER for ECDSA) is valid for `digest`; false for any malformed or wrong signature. */
export async function verifyDigest(
  lib: PKCS11, s: Handle, pub: Handle, spec: AsymmetricSpec, algorithm: SigningAlgorithm, digest: Uint8Array, signature: Uint8Array, sync = false,
): Promise<boolean> {
  const sig = isEcc(spec) ? ecdsaDerToRaw(signature, CURVES[spec].size) : Buffer.from(signature);
  if (!sig || (!isEcc(spec) && sig.length !== signatureBytes(spec))) return false;
  const { mech, input } = signing(algorithm, digest);
  lib.C_VerifyInit(s, mech, pub);
  try {
    return sync ? lib.C_Verify(s, input, sig) : await lib.C_VerifyAsync(s, input, sig);
  } catch (e) {
    const name = ckrName(e);
    if (name === 'CKR_SIGNATURE_INVALID' || name === 'CKR_SIGNATURE_LEN_RANGE') return false;
    throw afterCryptFailure(e);
  }
}

/** RSAES-OAEP decryption; every failure, in the token or in decoding, is the one InvalidCiphertextException. */
export async function rsaDecrypt(lib: PKCS11, s: Handle, priv: Handle, spec: AsymmetricSpec, algorithm: string, ciphertext: Uint8Array): Promise<Buffer> {
  const k = rsaBytes(spec);
  if (ciphertext.length !== k) throw invalidCiphertext();
  if (algorithm === 'RSAES_OAEP_SHA_1') {
    const parameter = { type: ck.CK_PARAMS_RSA_OAEP, hashAlg: ck.CKM_SHA_1, mgf: ck.CKG_MGF1_SHA1, source: 1 };
    lib.C_DecryptInit(s, { mechanism: ck.CKM_RSA_PKCS_OAEP, parameter }, priv);
    return decryptOrInvalid(lib, s, ciphertext, k);
  }
  // SoftHSM 2.6.1 refuses OAEP with SHA-256 (CKR_ARGUMENTS_BAD): raw RSA in the token, OAEP decoding here.
  lib.C_DecryptInit(s, { mechanism: ck.CKM_RSA_X_509 }, priv);
  const raw = await decryptOrInvalid(lib, s, ciphertext, k);
  const em = Buffer.alloc(k);
  raw.copy(em, k - raw.length);
  raw.fill(0);
  try {
    return oaepDecode(em, 'sha256');
  } finally {
    em.fill(0);
  }
}

async function decryptOrInvalid(lib: PKCS11, s: Handle, data: Uint8Array, k: number): Promise<Buffer> {
  try {
    return await lib.C_DecryptAsync(s, Buffer.from(data), Buffer.alloc(k));
  } catch (e) {
    const name = ckrName(e);
    if (name === 'CKR_ENCRYPTED_DATA_INVALID' || name === 'CKR_ENCRYPTED_DATA_LEN_RANGE' || name === 'CKR_GENERAL_ERROR') {
      throw Object.assign(invalidCiphertext(), { cause: afterCryptFailure(e) });
    }
    throw afterCryptFailure(e);
  }
}

export function hmacSign(lib: PKCS11, s: Handle, key: Handle, spec: HmacSpec, message: Uint8Array, sync = false): Promise<Buffer> {
  lib.C_SignInit(s, hmacMechanism(spec), key);
  return sign(lib, s, Buffer.from(message), 64, sync);
}

/** ECDH (CKM_ECDH1_DERIVE, no KDF): the raw x-coordinate, read from a session object destroyed at once. */
export async function ecdh(lib: PKCS11, s: Handle, priv: Handle, spec: AsymmetricSpec, peerPoint: Uint8Array): Promise<Buffer> {
  if (!isEcc(spec)) throw new TypeError('ECDH needs an EC key');
  const parameter = { type: ck.CK_PARAMS_EC_DH, kdf: ck.CKD_NULL, publicData: Buffer.from(peerPoint) };
  const secret = await lib.C_DeriveKeyAsync(s, { mechanism: ck.CKM_ECDH1_DERIVE, parameter }, priv, sharedSecretTemplate(CURVES[spec].size));
  try {
    return Buffer.from(attribute(lib, s, secret, (VALUE_ATTRIBUTE[0] as { type: number }).type));
  } finally {
    lib.C_DestroyObject(s, secret);
  }
}
