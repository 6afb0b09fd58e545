// The registry of every operation the endpoint serves, keyed by its full X-Amz-Target.
// A new service family (CofferIdentity., CofferAudit., CofferAdmin.) adds its contract and handlers here.
import type { z } from 'zod';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { kmsRequests } from '../../sdk/contract/kms.js';
import { kmsHandlers } from './kms.js';
import { auditRequests } from '../../sdk/contract/audit.js';
import { auditHandlers } from './audit.js';
import { kmsAsymmetricRequests } from '../../sdk/contract/kms-asymmetric.js';
import { kmsAsymmetricHandlers } from './kms-asymmetric.js';
import { kmsRotationRequests } from '../../sdk/contract/kms-rotation.js';
import { kmsRotationHandlers } from './kms-rotation.js';
import { kmsImportRequests } from '../../sdk/contract/kms-import.js';
import { kmsImportHandlers } from './kms-import.js';
import { kmsAccessRequests } from '../../sdk/contract/kms-access.js';
import { kmsAccessHandlers } from './kms-access.js';
import { identityRequests } from '../../sdk/contract/identity.js';
import { identityHandlers } from './identity.js';
import { adminRequests } from '../../sdk/contract/admin.js';
import { adminHandlers } from './admin.js';

export interface Operation {
  /** The operation's name without its prefix, as audited. */
  name: string;
  schema: z.ZodType;
  handler: (deps: ServiceDeps, ctx: RequestContext, input: unknown) => Promise<object>;
}

function family<R extends Record<string, z.ZodType>>(
  prefix: string,
  requests: R,
  handlers: { [K in keyof R]: (deps: ServiceDeps, ctx: RequestContext, input: z.output<R[K]>) => Promise<object> },
): Record<string, Operation> {
  const out: Record<string, Operation> = {};
  for (const name of Object.keys(requests)) {
    out[`${prefix}${name}`] = { name, schema: requests[name] as z.ZodType, handler: handlers[name] as Operation['handler'] };
  }
  return out;
}

export const OPERATIONS: Readonly<Record<string, Operation>> = {
  ...family('TrentService.', kmsRequests, kmsHandlers),
  ...family('CofferAudit.', auditRequests, auditHandlers),
  ...family('TrentService.', kmsAsymmetricRequests, kmsAsymmetricHandlers),
  ...family('TrentService.', kmsRotationRequests, kmsRotationHandlers),
  ...family('TrentService.', kmsImportRequests, kmsImportHandlers),
  ...family('TrentService.', kmsAccessRequests, kmsAccessHandlers),
  ...family('CofferIdentity.', identityRequests, identityHandlers),
  ...family('CofferAdmin.', adminRequests, adminHandlers),
};
