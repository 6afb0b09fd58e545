// Resolving a key for a cryptographic use other than symmetric encryption: found, authorized, enabled, of the right usage.
import type { AuditDraft } from '../audit.js';
import type { ConditionValues } from '../authorization.js';
import { needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import type { KeyUsage } from '../key-spec.js';
import { assertStateAllows, type OperationClass } from '../key-state.js';
import type { Key } from '../model.js';
import type { Repositories } from '../ports.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { noSuchKey, resolveKey } from './resolve.js';

export interface KeyForUse {
  key: Key;
  arn: string;
}

export async function keyForUse(
  deps: ServiceDeps,
  ctx: RequestContext,
  repos: Repositories,
  draft: AuditDraft,
  action: string,
  keyIdInput: string,
  usage: KeyUsage | null,
  conditions: ConditionValues = {},
  op: 'crypto' | 'manage' = 'crypto',
): Promise<KeyForUse> {
  const scope = scopeOf(deps, ctx);
  const key = await resolveKey(repos, scope, keyIdInput);
  const arn = keyArn({ ...scope, accountId: key.accountId }, key.id);
  draft.keyArn = arn;
  const withAlias = keyIdInput.startsWith('alias/') ? { 'kms:RequestAlias': keyIdInput } : {};
  await authorize(deps, repos, ctx, action, key, { ...conditions, ...withAlias });
  assertStateAllows(key.state, arn, op);
  if (usage !== null) assertUsage(key, arn, usage);
  return { key, arn };
}

/**
 * The key locked for a change of its versions or materials (KeyRepository.lockForUpdate) and re-checked as it is now:
 * a rotation, an import or a deletion of material that raced this one has committed, or waits for this one.
 */
export async function lockKey(repos: Repositories, key: Key, arn: string, op: OperationClass, allowPendingDeletion = false): Promise<Key> {
  const locked = await repos.keys.lockForUpdate(key.id);
  if (!locked) throw noSuchKey(arn);
  assertStateAllows(locked.state, arn, op, allowPendingDeletion);
  return locked;
}

export function assertUsage(key: Key, arn: string, usage: KeyUsage): void {
  needs(key.keyUsage === usage, 'InvalidKeyUsageException', `${arn} key usage is ${key.keyUsage} which is not valid for this operation.`);
}
