// AES-256-GCM inside the token, with the IV the caller supplies (SoftHSM will not make one, and silently accepts an
// empty IV or a short tag: hsm/mechanisms.ts aesGcm fixes both). Shared by root keys and the credential key.
import { TAG_BYTES } from '../core/ciphertext.js';
import { internalError, invalidCiphertext } from '../core/errors.js';
import { afterCryptFailure } from './errors.js';
import { aesGcm } from './mechanisms.js';
import type { Handle, PKCS11 } from './module.js';

/**
 * iv is 12 bytes; the output is ciphertext || tag(16). Inputs up to `syncMaxBytes` use the synchronous call on the
 * event loop, larger ones libuv's pool (HsmConfig.syncMaxBytes).
 */
export async function gcmEncrypt(lib: PKCS11, s: Handle, key: Handle, iv: Uint8Array, aad: Uint8Array, data: Uint8Array, syncMaxBytes: number): Promise<Buffer> {
  // SoftHSM answers an empty input with CKR_ARGUMENTS_BAD and leaves the operation active.
  if (data.length === 0) throw internalError(new RangeError('AES-GCM input must not be empty'));
  lib.C_EncryptInit(s, aesGcm(iv, aad), key);
  // Always big enough: a CKR_BUFFER_TOO_SMALL would leave the operation active.
  const out = Buffer.alloc(data.length + TAG_BYTES);
  try {
    if (data.length <= syncMaxBytes) return lib.C_Encrypt(s, Buffer.from(data), out);
    return await lib.C_EncryptAsync(s, Buffer.from(data), out);
  } catch (e) {
    throw afterCryptFailure(e);
  }
}

/** `data` is ciphertext || tag; a wrong key, IV, AAD or tag is InvalidCiphertextException. */
export async function gcmDecrypt(lib: PKCS11, s: Handle, key: Handle, iv: Uint8Array, aad: Uint8Array, data: Uint8Array, syncMaxBytes: number): Promise<Uint8Array> {
  if (data.length <= TAG_BYTES) throw invalidCiphertext();
  lib.C_DecryptInit(s, aesGcm(iv, aad), key);
  try {
    const out = Buffer.alloc(data.length);
    if (data.length <= syncMaxBytes) return new Uint8Array(lib.C_Decrypt(s, Buffer.from(data), out));
    return new Uint8Array(await lib.C_DecryptAsync(s, Buffer.from(data), out));
  } catch (e) {
    throw afterCryptFailure(e);
  }
}
