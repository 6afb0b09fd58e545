// Imported key material into token objects: a PKCS #8 private key (already checked against its spec by the core) is
// split into the PKCS#11 attributes of a private and a public key object and created in the token.
import { createPrivateKey } from 'node:crypto';
import { isEcc, isEd, isRsa, type AsymmetricSpec, type KeyUsage } from '../core/key-spec.js';
import { CURVES, tlv } from './der.js';
import type { Handle, PKCS11 } from './module.js';
import {
  ED25519_OID, importedEcKeyPairTemplates, importedRsaKeyPairTemplates, type KeyPairTemplates, type PairUsage,
} from './templates.js';

const bytes = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'base64url');

/** The templates of the key pair in `privateKey` (DER PKCS #8); the caller zeroes nothing it did not allocate. */
export function importedKeyPairTemplates(versionId: string, spec: AsymmetricSpec, usage: KeyUsage, privateKey: Uint8Array): KeyPairTemplates {
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
