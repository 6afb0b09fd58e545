// COFFER_FIPS_MODE: the registry of non-approved fallbacks (work done in process instead of in the token) and the
// policy that refuses them. Code that has a fallback registers it here and calls `assertPermitted` before using it.
import { KmsError } from '../core/errors.js';
import type { Capabilities } from './probe.js';

export interface Fallback {
  /** Stable id, e.g. 'in-process-oaep-decoding'. */
  id: string;
  /** The KMS operations (and key specs) that use this fallback, for the start-up message. */
  operations: string[];
  /** Whether this token needs the fallback at all (e.g. it lacks CKM_RSA_PKCS_OAEP with SHA-256). */
  neededBy(capabilities: Capabilities): boolean;
}

/**
 * Every fallback Coffer has. Empty today: the symmetric core does everything inside the token. The asymmetric
 * work registers in-process OAEP decoding (tokens with SHA-1-only OAEP) and in-process unwrap here.
 */
export const FALLBACKS: Fallback[] = [];

export function registerFallback(f: Fallback): void {
  if (!FALLBACKS.some((x) => x.id === f.id)) FALLBACKS.push(f);
}

export class FipsPolicy {
  constructor(readonly enabled: boolean) {}

  /** In FIPS mode every fallback is refused, registered or not (forgetting to register must not open a hole). */
  permits(_fallbackId: string): boolean {
    return !this.enabled;
  }

  /** Throws UnsupportedOperationException when FIPS mode refuses the fallback. */
  assertPermitted(fallbackId: string): void {
    if (!this.permits(fallbackId)) {
      throw new KmsError('UnsupportedOperationException', 'This operation needs a non-approved fallback on this HSM, and FIPS mode is on.');
    }
  }

  /** What FIPS mode disables on this token: the fallbacks it would need, and their operations. */
  disabled(capabilities: Capabilities): { fallback: string; operations: string[] }[] {
    if (!this.enabled) return [];
    return FALLBACKS.filter((f) => f.neededBy(capabilities)).map((f) => ({ fallback: f.id, operations: f.operations }));
  }
}
