// The CofferAdmin.* operations: the domain keys wrapped key material lives under (COFFER_KEY_STORE=wrapped).
import { z } from 'zod';

/** A domain key's id: its CKA_ID in 32 lowercase hex digits, as DescribeDomainKeys lists it. */
const domainKeyId = z.string().regex(/^[0-9a-f]{32}$/, 'Member must satisfy regular expression pattern: ^[0-9a-f]{32}$');

export const DOMAIN_KEY_STATES = ['ACTIVE', 'RETIRED', 'MISSING'] as const;

export const adminRequests = {
  DescribeDomainKeys: z.object({}),
  /** A new domain key wraps new material from now on; the others retire and their blobs are rewrapped in the background. */
  RotateDomainKey: z.object({}),
  /** Destroys a retired domain key that no key version's material is wrapped under any more. */
  DestroyDomainKey: z.object({ DomainKeyId: domainKeyId }),
};

export type AdminOperation = keyof typeof adminRequests;
export type AdminRequest<O extends AdminOperation> = z.output<(typeof adminRequests)[O]>;
