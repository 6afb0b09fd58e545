// DescribeKey, ListKeys, UpdateKeyDescription, EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion.
import type { ConditionValues } from '../authorization.js';
import { needs, validationError } from '../errors.js';
import { keyArn } from '../identifiers.js';
import type { ImportedMaterial, Key, Page } from '../model.js';
import { audited, auditedRead } from './audited.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKey, resolveKeyById } from './resolve.js';
import { lockKey } from './key-use.js';
import { everyUsableImported } from '../imported-material.js';
import type { Repositories } from '../ports.js';

export const DEFAULT_PENDING_WINDOW_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A key as DescribeKey shows it: with its current imported material's expiry when its origin is EXTERNAL. */
export interface KeyDescription {
  key: Key;
  imported: ImportedMaterial | null;
}

export async function describeKey(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<KeyDescription> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await resolveKey(repos, scope, keyId);
    draft.keyArn = keyArn({ ...scope, accountId: key.accountId }, key.id);
    await authorize(deps, repos, ctx, 'kms:DescribeKey', key);
    const imported = key.origin === 'EXTERNAL' ? (await repos.imports.list(key.id)).find((m) => m.versionId === key.currentVersionId) : null;
    return { key, imported: imported ?? null };
  });
}

export async function listKeys(deps: ServiceDeps, ctx: RequestContext, limit: number, marker: string | null): Promise<Page<Key>> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos) => {
    await authorize(deps, repos, ctx, 'kms:ListKeys', null);
    // A marker that is not a key id is refused by the repository (InvalidMarkerException with AWS's message).
    return repos.keys.list(scope.accountId, limit, marker);
  });
}

/** Shared shape of the management operations: find the key by id or ARN, check state, change it. */
async function manage(
  deps: ServiceDeps,
  ctx: RequestContext,
  action: string,
  keyId: string,
  change: (key: Key, arn: string, repos: Repositories) => Partial<Key> | null | Promise<Partial<Key> | null>,
  allowPendingDeletion = false,
  conditions: ConditionValues = {},
): Promise<Key> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    const found = await resolveKeyById(repos, scope, keyId);
    const arn = keyArn({ ...scope, accountId: found.accountId }, found.id);
    draft.keyArn = arn;
    await authorize(deps, repos, ctx, action, found, conditions);
    // Locked and read again: two changes of state (DisableKey racing ScheduleKeyDeletion) take turns, each checking
    // the state the other left, so the outcome is one a serial order gives (never Disabled with a deletion date).
    const key = await lockKey(repos, found, arn, 'manage', allowPendingDeletion);
    const patch = await change(key, arn, repos);
    if (patch === null) return key;
    await repos.keys.update(key.id, patch);
    return { ...key, ...patch };
  });
}

export function updateKeyDescription(deps: ServiceDeps, ctx: RequestContext, keyId: string, description: string): Promise<Key> {
  return manage(deps, ctx, 'kms:UpdateKeyDescription', keyId, () => ({ description }));
}

export function enableKey(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<Key> {
  return manage(deps, ctx, 'kms:EnableKey', keyId, (key) => (key.state === 'Enabled' ? null : { state: 'Enabled' }));
}

export function disableKey(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<Key> {
  return manage(deps, ctx, 'kms:DisableKey', keyId, (key) => (key.state === 'Disabled' ? null : { state: 'Disabled' }));
}

export function scheduleKeyDeletion(deps: ServiceDeps, ctx: RequestContext, keyId: string, days: number | undefined): Promise<Key> {
  const window = days ?? DEFAULT_PENDING_WINDOW_DAYS;
  if (window < 7) throw validationError('pendingWindowInDays', String(window), 'Member must have value greater than or equal to 7');
  if (window > 30) throw validationError('pendingWindowInDays', String(window), 'Member must have value less than or equal to 30');
  const change = () => ({ state: 'PendingDeletion' as const, deletionDate: new Date(deps.clock.now().getTime() + window * DAY_MS), pendingWindowDays: window });
  return manage(deps, ctx, 'kms:ScheduleKeyDeletion', keyId, change, false, { 'kms:ScheduleKeyDeletionPendingWindowInDays': window });
}

export function cancelKeyDeletion(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<Key> {
  return manage(
    deps,
    ctx,
    'kms:CancelKeyDeletion',
    keyId,
    async (key, arn, repos) => {
      needs(key.state === 'PendingDeletion', 'KMSInvalidStateException', `${arn} is not pending deletion.`);
      // As AWS does: Disabled, or PendingImport for a key of imported material that lacks some of it.
      const lacksMaterial = key.origin === 'EXTERNAL' && !everyUsableImported(key, await repos.imports.list(key.id), await repos.keys.listVersions(key.id));
      return { state: lacksMaterial ? 'PendingImport' : 'Disabled', deletionDate: null, pendingWindowDays: null };
    },
    true,
  );
}
