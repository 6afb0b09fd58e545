// The CofferAudit.* operations: LookupEvents shaped like CloudTrail's, the audit-signing public key, checkpoints.
import { z } from 'zod';
import { epochSeconds, int, oneOf, str } from './shapes.js';

export const LOOKUP_ATTRIBUTE_KEYS = ['EventId', 'EventName', 'Username', 'ResourceName', 'AccessKeyId'] as const;

const timestamp = epochSeconds;

export const auditRequests = {
  LookupEvents: z.object({
    LookupAttributes: z
      .array(z.object({ AttributeKey: oneOf(LOOKUP_ATTRIBUTE_KEYS), AttributeValue: str(1, 2000) }))
      .max(5, 'Member must have length less than or equal to 5')
      .optional(),
    StartTime: timestamp.optional(),
    EndTime: timestamp.optional(),
    MaxResults: int(1, 50).optional(),
    NextToken: str(1, 1024).optional(),
  }),
  GetPublicKey: z.object({}),
  CreateCheckpoint: z.object({}),
  /** Coffer's own: the server walks the whole chain with sdk/audit/verify.ts and checks the last checkpoint. */
  VerifyChain: z.object({}),
};

export type AuditOperation = keyof typeof auditRequests;
export type AuditRequest<O extends AuditOperation> = z.output<(typeof auditRequests)[O]>;
