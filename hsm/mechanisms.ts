// AES-GCM mechanism parameters; the token accepts any IV and tag length, so the sizes are enforced here.
import type { AesGCM, Mechanism } from 'pkcs11js';
import { IV_BYTES, TAG_BYTES } from '../core/ciphertext.js';
import type { HmacSpec } from '../core/key-spec.js';
import { ck } from './module.js';

export const GCM_TAG_BITS = TAG_BYTES * 8;

/** CKM_AES_GCM with a 12-byte IV, the given AAD and a 128-bit tag. Throws TypeError on any other IV length. */
export function aesGcm(iv: Uint8Array, aad: Uint8Array): Mechanism {
  if (iv.length !== IV_BYTES) throw new TypeError(`AES-GCM needs a ${IV_BYTES}-byte IV`);
  const parameter: AesGCM = {
    type: ck.CK_PARAMS_AES_GCM,
    iv: Buffer.from(iv),
    aad: Buffer.from(aad),
    ivBits: IV_BYTES * 8,
    tagBits: GCM_TAG_BITS,
  };
  return { mechanism: ck.CKM_AES_GCM, parameter };
}

export function aesKeyGen(): Mechanism {
  return { mechanism: ck.CKM_AES_KEY_GEN };
}

const HMAC_MECHANISM: Record<HmacSpec, number> = {
  HMAC_224: ck.CKM_SHA224_HMAC, HMAC_256: ck.CKM_SHA256_HMAC, HMAC_384: ck.CKM_SHA384_HMAC, HMAC_512: ck.CKM_SHA512_HMAC,
};

/** The HMAC mechanism of a key spec (the key's length is the hash's: SoftHSM refuses a shorter key). */
export function hmacMechanism(spec: HmacSpec): Mechanism {
  return { mechanism: HMAC_MECHANISM[spec] };
}
