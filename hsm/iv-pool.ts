// AES-GCM IVs for Encrypt: from the token's RNG, but drawn IVS_PER_DRAW at a time, which spares one C_GenerateRandom
// per request (≈ 3% of an Encrypt's main-thread time). Each IV is handed out once; each process draws its own (a
// worker's pool starts empty). IVs are not secret; uniqueness is what GCM needs, and 96 random bits per IV give it as
// drawing them one by one did. The bench's raw token loop draws them the same way (scripts/bench/raw-token.ts).
import { IV_BYTES } from '../core/ciphertext.js';
import type { Handle, PKCS11 } from './module.js';

/** IVs drawn from the token per C_GenerateRandom. */
export const IVS_PER_DRAW = 256;

export class IvPool {
  /** The last draw; IVs before `at` are handed out. */
  private drawn: Buffer = Buffer.alloc(0);
  private at = 0;

  constructor(private readonly lib: PKCS11) {}

  /** The next fresh IV; draws again from the token (on session `s`) when the last draw is used up. */
  next(s: Handle): Uint8Array {
    if (this.at + IV_BYTES > this.drawn.length) {
      this.drawn = this.lib.C_GenerateRandom(s, Buffer.alloc(IV_BYTES * IVS_PER_DRAW));
      this.at = 0;
    }
    const iv = new Uint8Array(this.drawn.subarray(this.at, this.at + IV_BYTES));
    this.at += IV_BYTES;
    return iv;
  }
}
