// Imported key material into token objects. In process: a PKCS #8 private key (already checked against its spec by the
// core) is split into the PKCS#11 attributes of a private and a public key object and created in the token. In the
// token: RSA_AES_KEY_WRAP_SHA_1 of an RSA private key is undone by C_UnwrapKey twice (OAEP-SHA-1, then AES-KWP), so the
// material never enters the process.
import { constants, createHash, createPrivateKey, createPublicKey, publicEncrypt, verify } from 'node:crypto';
import { invalidCiphertext, KmsError } from '../core/errors.js';
import { isEcc, isEd, isRsa, type AsymmetricSpec, type KeyUsage, type RsaSpec } from '../core/key-spec.js';
import { CURVES, tlv } from './der.js';
import { ckrName } from './errors.js';
import { ck, type Handle, type PKCS11 } from './module.js';
import {
  ED25519_OID, importedEcKeyPairTemplates, importedRsaKeyPairTemplates, rsaPublicKeyTemplate, transportKeyTemplate,
  unwrappedRsaPrivateKeyTemplate, type KeyPairTemplates, type PairUsage,
} from './templates.js';

const bytes = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'base64url');

/**
 * The templates of the key pair in `privateKey` (DER PKCS #8): the version's token objects, or with a null version id
 * session objects to be wrapped (the wrapped key store). The caller zeroes nothing it did not allocate.
 */
export function importedKeyPairTemplates(versionId: string | null, spec: AsymmetricSpec, usage: KeyUsage, privateKey: Uint8Array): KeyPairTemplates {
  const jwk = createPrivateKey({ key: Buffer.from(privateKey), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const u = usage as PairUsage;
  if (isRsa(spec)) {
    const [n, e, d, p, q, dp, dq, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(bytes) as Buffer[];
    return importedRsaKeyPairTemplates(versionId, u, { n: n!, e: e!, d: d!, p: p!, q: q!, dp: dp!, dq: dq!, qi: qi! });
  }
  if (isEd(spec)) return importedEcKeyPairTemplates(versionId, u, true, ED25519_OID, tlv(0x04, bytes(jwk.x)), bytes(jwk.d));
  if (!isEcc(spec)) throw new TypeError(`no key pair for ${spec}`);
  const curve = CURVES[spec];
  const point = tlv(0x04, Buffer.concat([Buffer.from([4]), fixed(bytes(jwk.x), curve.size), fixed(bytes(jwk.y), curve.size)]));
  return importedEcKeyPairTemplates(versionId, u, false, curve.oid, point, fixed(bytes(jwk.d), curve.size));
}

/** Left-pads a big-endian value to `size` bytes (JWK members are already full length; this only guards). */
function fixed(v: Buffer, size: number): Buffer {
  return v.length >= size ? v : Buffer.concat([Buffer.alloc(size - v.length), v]);
}

/** Creates both objects; destroys the first when the second fails, so a version never holds half a pair. */
export function createKeyPairObjects(lib: PKCS11, s: Handle, t: KeyPairTemplates): void {
  const privateKey: Handle = lib.C_CreateObject(s, t.privateKey);
  try {
    lib.C_CreateObject(s, t.publicKey);
  } catch (e) {
    lib.C_DestroyObject(s, privateKey);
    throw e;
  }
}

const OAEP_SHA1 = { mechanism: ck.CKM_RSA_PKCS_OAEP, parameter: { type: ck.CK_PARAMS_RSA_OAEP, hashAlg: ck.CKM_SHA_1, mgf: ck.CKG_MGF1_SHA1, source: 1 } };
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const PROBE = Buffer.from('coffer:imported-key-pair-check');
/** Output buffers big enough for RSA_4096 (a too-small buffer would leave the operation active). */
const MAX_RSA_BYTES = 512;
const incorrect = (message: string) => new KmsError('IncorrectKeyMaterialException', message);

export interface RsaUnwrap {
  /** The wrapping private key (CKA_UNWRAP true) and the byte length of its modulus. */
  wrappingKey: Handle;
  modulusBytes: number;
  /** The version whose token objects to make; null: session objects, the private half extractable (the wrapped key store seals it). */
  versionId: string | null;
  spec: RsaSpec;
  usage: PairUsage;
}

/**
 * RSA_AES_KEY_WRAP_SHA_1 inside the token: the leading modulus-sized block is the AES key under OAEP-SHA-1, the rest
 * the PKCS #8 RSA private key under AES-KWP. Creates the version's private key, checks its size, creates the public key
 * from its modulus and exponent, checks that the halves agree, and returns the public key (SPKI DER). On any failure
 * it leaves no object behind.
 */
export async function unwrapRsaKeyPair(lib: PKCS11, s: Handle, u: RsaUnwrap, wrapped: Uint8Array): Promise<{ spki: Buffer; privateKey: Handle; objects: Handle[] }> {
  if (wrapped.length <= u.modulusBytes) throw invalidCiphertext();
  let aesKey: Handle;
  try {
    aesKey = await lib.C_UnwrapKeyAsync(s, OAEP_SHA1, u.wrappingKey, Buffer.from(wrapped.subarray(0, u.modulusBytes)), transportKeyTemplate());
  } catch (e) {
    throw Object.assign(invalidCiphertext(), { cause: e });
  }
  let privateKey: Handle;
  try {
    privateKey = await lib.C_UnwrapKeyAsync(s, { mechanism: ck.CKM_AES_KEY_WRAP_PAD }, aesKey, Buffer.from(wrapped.subarray(u.modulusBytes)), unwrappedRsaPrivateKeyTemplate(u.versionId, u.usage));
  } catch (e) {
    throw Object.assign(incorrect(`The key material is not a ${u.spec} private key wrapped with RSA_AES_KEY_WRAP_SHA_1.`), { cause: ckrName(e) });
  } finally {
    lib.C_DestroyObject(s, aesKey);
  }
  const created = [privateKey];
  try {
    const [n, e] = [ck.CKA_MODULUS, ck.CKA_PUBLIC_EXPONENT].map((type) => lib.C_GetAttributeValue(s, privateKey, [{ type }])[0]?.value as Buffer);
    const publicKey = createPublicKey({ key: { kty: 'RSA', n: n!.toString('base64url'), e: e!.toString('base64url') }, format: 'jwk' });
    if (publicKey.asymmetricKeyDetails?.modulusLength !== Number(u.spec.slice(4))) throw incorrect(`The key material is not a ${u.spec} private key.`);
    created.push(lib.C_CreateObject(s, rsaPublicKeyTemplate(u.versionId, u.usage, n!, e!)));
    if (!(await halvesAgree(lib, s, privateKey, publicKey, u))) throw incorrect(`The key material is not a consistent ${u.spec} key pair.`);
    return { spki: publicKey.export({ type: 'spki', format: 'der' }), privateKey, objects: created };
  } catch (e) {
    for (const h of created) lib.C_DestroyObject(s, h);
    throw e;
  }
}

/** The private key (which signs with its CRT values) and the public key agree: a signature or a decryption round trip. */
async function halvesAgree(lib: PKCS11, s: Handle, privateKey: Handle, publicKey: ReturnType<typeof createPublicKey>, u: RsaUnwrap): Promise<boolean> {
  try {
    if (u.usage === 'SIGN_VERIFY') {
      lib.C_SignInit(s, { mechanism: ck.CKM_RSA_PKCS }, privateKey);
      const digest = createHash('sha256').update(PROBE).digest();
      const signature = await lib.C_SignAsync(s, Buffer.concat([SHA256_DIGEST_INFO, digest]), Buffer.alloc(MAX_RSA_BYTES));
      return verify('sha256', PROBE, publicKey, signature);
    }
    lib.C_DecryptInit(s, OAEP_SHA1, privateKey);
    const ciphertext = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, PROBE);
    return (await lib.C_DecryptAsync(s, ciphertext, Buffer.alloc(MAX_RSA_BYTES))).equals(PROBE);
  } catch {
    return false;
  }
}
