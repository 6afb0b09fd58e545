// When small AES-GCM and HMAC operations and ECC_NIST_P256 signatures run as synchronous PKCS#11 calls on the event
// loop instead of pkcs11js's *Async calls. An async call is a hop to libuv's pool and back: a mutex, a futex wake of a pool thread, a context switch and
// an eventfd wake of the loop, which on this VM cost more than the AES itself (perf: bench/perf-encrypt.txt). The hop
// pays only while a core is free to run the pool thread beside the loop.
import { availableParallelism } from 'node:os';
import { isSoftwareToken } from './heavy-ops.js';

/** The largest Encrypt plaintext AWS KMS accepts, and so every AES-GCM input of a request. */
export const SYNC_ALL_REQUESTS = 4096;

/**
 * COFFER_HSM_SYNC_MAX_BYTES=auto: synchronous for every request's AES-GCM when the token is a software token (its
 * calls are CPU work on this machine, tens of microseconds) and there are at least as many serving processes as cores
 * (every core already runs an event loop, so the pool thread only competes with one): Encrypt 1.14-1.28x, Decrypt
 * 1.15x, GenerateDataKey 1.22x with 2 workers on 2 cores (bench/ab-sync-aes-workers.txt). With fewer processes than
 * cores the async call runs the AES on an idle core: one worker on 2 cores measured 0.95-1.03x, so async stays. Never
 * for a hardware or network HSM: each call there waits on a device or a round trip, which must not block the loop.
 */
export function defaultSyncMaxBytes(modulePath: string, workers: number, cores = availableParallelism()): number {
  return isSoftwareToken(modulePath) && workers >= cores ? SYNC_ALL_REQUESTS : 0;
}

/**
 * When synchronous calls are on (syncMaxBytes > 0), which signing keys also sign and verify on the event loop: those
 * whose operation in SoftHSM costs about what the pool hop does. Measured one at a time on the 2-vCPU bench VM, in
 * µs per call including the binding: ECC_NIST_P256 sign 217, verify 230; HMAC over 32-4096 bytes 54-76 (mac: like
 * AES, synchronous up to syncMaxBytes). With 2 workers on 2 cores: Sign ECC_NIST_P256 1.14x, Verify 1.11x
 * (bench/ab-sync-sign-workers.txt). Left on the pool: RSA verification (56-549; Verify RSA_2048 measured 1.02x, not
 * worth the loop time), ECC_SECG_P256K1 (sign 929), P-384 (1,678), P-521 (3,209-3,881), Ed25519 (278-410) and every
 * RSA signature (890-10,288): a loop blocked that long delays every other request.
 */
export const SYNC_SIGNING_SPECS: ReadonlySet<string> = new Set(['ECC_NIST_P256']);
