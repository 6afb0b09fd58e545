// The credential key: an AES-256 token key (fixed CKA_ID, hsm/templates.ts) under which access keys' secrets are
// sealed in the database. Created once per token, on first use or at start-up; found again when its handle goes stale.
import { IV_BYTES } from '../core/ciphertext.js';
import { KmsError, invalidCiphertext } from '../core/errors.js';
import { isHandleInvalid, toKmsError } from './errors.js';
import { gcmDecrypt, gcmEncrypt } from './gcm.js';
import { aesKeyGen } from './mechanisms.js';
import { findObjects, type Handle, type PKCS11 } from './module.js';
import { credentialKeyTemplate, findCredentialKeyTemplate } from './templates.js';

const FINGERPRINT_IV = Buffer.alloc(IV_BYTES);
const FINGERPRINT_AAD = Buffer.from('coffer:key-fingerprint');
const FINGERPRINT_INPUT = Buffer.alloc(16);

/** Runs fn on a session as a token write (serialised across the processes on the token: Pkcs11Hsm.runWrite). */
export type RunWrite = (fn: (s: Handle) => Promise<void>) => Promise<void>;

export class CredentialKey {
  /** The candidates, the chosen one first (see choose). */
  private keys: Handle[] = [];
  private loading: Promise<void> | null = null;

  constructor(
    private readonly lib: PKCS11,
    private readonly syncMaxBytes: number,
  ) {}

  /**
   * Loads the key, creating it when the token has none; once (again after a failure). A token write like any other:
   * the server loads it once those are serialised across processes (server/serve.ts), so two instances starting
   * together on a fresh token create one credential key, not one each.
   */
  load(runWrite: RunWrite): Promise<void> {
    this.loading ??= runWrite(async (s) => {
      let found = findObjects(this.lib, s, findCredentialKeyTemplate());
      if (found.length === 0) {
        await this.lib.C_GenerateKeyAsync(s, aesKeyGen(), credentialKeyTemplate());
        found = findObjects(this.lib, s, findCredentialKeyTemplate());
      }
      this.keys = await this.choose(s, found);
    }).catch((e: unknown) => {
      this.loading = null;
      throw e;
    });
    return this.loading;
  }

  /** ciphertext || tag of `secret` under the chosen key. */
  seal(s: Handle, iv: Uint8Array, aad: Uint8Array, secret: Uint8Array): Promise<Buffer> {
    return this.withKeys(s, (keys) => gcmEncrypt(this.lib, s, keys[0] as Handle, iv, aad, secret, this.syncMaxBytes));
  }

  /** Tries the chosen key, then any duplicate a racing process created (see choose). */
  unseal(s: Handle, iv: Uint8Array, aad: Uint8Array, body: Uint8Array): Promise<Uint8Array> {
    const tryKeys = async (keys: Handle[]): Promise<Uint8Array> => {
      let last: unknown = invalidCiphertext();
      for (const key of keys) {
        try {
          return await gcmDecrypt(this.lib, s, key, iv, aad, body, this.syncMaxBytes);
        } catch (e) {
          last = e;
          if (toKmsError(e, 'decrypt').code !== 'InvalidCiphertextException') break;
        }
      }
      throw last;
    };
    return this.withKeys(s, async (keys) => {
      try {
        return await tryKeys(keys);
      } catch (e) {
        // A process that started beside ours on a fresh token before the creation was serialised may have made its
        // own key and sealed under it: look again once, and try any key we did not know.
        const found = findObjects(this.lib, s, findCredentialKeyTemplate());
        const fresh = found.filter((h) => !keys.includes(h));
        if (toKmsError(e, 'decrypt').code !== 'InvalidCiphertextException' || fresh.length === 0) throw e;
        this.keys = await this.choose(s, found);
        return tryKeys(fresh);
      }
    });
  }

  /**
   * Two processes may each have created a credential key (before its creation was serialised across processes, or on
   * tokens shared without a common database). Every process orders the candidates by a fingerprint (a GCM tag over a
   * fixed input, the same in every process, unlike handles) and seals under the first; unseal tries them all, so
   * nothing sealed by a loser of the race is lost.
   */
  private async choose(s: Handle, found: Handle[]): Promise<Handle[]> {
    if (found.length <= 1) return found;
    // One operation at a time: the session is one, and concurrent operations on it fail (or crash the token).
    const prints: { h: Handle; fp: string }[] = [];
    for (const h of found) {
      prints.push({ h, fp: (await gcmEncrypt(this.lib, s, h, FINGERPRINT_IV, FINGERPRINT_AAD, FINGERPRINT_INPUT, this.syncMaxBytes)).toString('hex') });
    }
    return prints.sort((a, b) => (a.fp < b.fp ? -1 : a.fp > b.fp ? 1 : 0)).map((p) => p.h);
  }

  /**
   * Runs op with the key handles; finds them again once when they went stale (SoftHSM forgets every handle of a slot
   * when its last session closes, e.g. after the token dropped all sessions).
   */
  private async withKeys<T>(s: Handle, op: (keys: Handle[]) => Promise<T>): Promise<T> {
    try {
      return await op(this.keys);
    } catch (e) {
      if (!isHandleInvalid(e)) throw e;
    }
    this.keys = await this.choose(s, findObjects(this.lib, s, findCredentialKeyTemplate()));
    if (this.keys.length === 0) throw new KmsError('KMSInternalException', 'The credential key is not in the HSM.');
    return op(this.keys);
  }
}
