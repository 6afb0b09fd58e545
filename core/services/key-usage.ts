// GetKeyLastUsage: when a key was last used for a successful cryptographic operation, as the audit trail recorded it
// (each appended event that uses a key moves that key's record; core/audit.ts keysUsedBy).
import type { KeyLastUse } from '../audit.js';
import { keyArn } from '../identifiers.js';
import type { Key } from '../model.js';
import { auditedRead } from './audited.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKeyById } from './resolve.js';

export interface KeyLastUsageReport {
  key: Key;
  /** Null when the key has not been used since tracking started. */
  last: KeyLastUse | null;
  /** When tracking began for this key: the database's start of tracking, or the key's creation if later. */
  trackingStart: Date;
}

/** Key id or ARN only, own account only (kms:GetKeyLastUsage is no cross-account action), in any key state. */
export function getKeyLastUsage(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<KeyLastUsageReport> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const scope = scopeOf(deps, ctx);
    const key = await resolveKeyById(repos, scope, keyId);
    draft.keyArn = keyArn({ ...scope, accountId: key.accountId }, key.id);
    await authorize(deps, repos, ctx, 'kms:GetKeyLastUsage', key);
    const { last, trackingSince } = await repos.audit.keyLastUse(key.id);
    const trackingStart = trackingSince.getTime() > key.createdAt.getTime() ? trackingSince : key.createdAt;
    return { key, last, trackingStart };
  });
}
