// A user's tags (CofferIdentity TagUser, UntagUser, ListUserTags, in IAM's shapes): the caller's tags are the
// aws:PrincipalTag/<key> condition keys of its requests, so a policy can match a user's attributes against a key's
// (`"aws:ResourceTag/project": "${aws:PrincipalTag/project}"`). Read with the access key, so a change reaches the
// other instances' credential caches within COFFER_CREDENTIAL_CACHE_MS (this instance's at once).
import type { ConditionValues } from '../authorization.js';
import { KmsError, needs } from '../errors.js';
import type { Repositories } from '../ports.js';
import { audited, auditedRead } from './audited.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { userArn } from './credentials.js';
import { authorizeIam, existingUser } from './iam-access.js';
import { tagConditions } from './tags.js';

/** IAM's quota of tags per user. */
export const MAX_USER_TAGS = 50;

export type UserTag = { Key: string; Value: string };

/** As IAM: keys are case-insensitive (a new "Team" replaces an existing "team"), and aws: is reserved. */
export function checkUserTags(tags: readonly UserTag[]): void {
  const lower = tags.map((t) => t.Key.toLowerCase());
  needs(new Set(lower).size === lower.length, 'ValidationException', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.');
  needs(!lower.some((k) => k.startsWith('aws:')), 'ValidationException', 'Tag keys beginning with aws: are reserved for AWS use.');
}

/** aws:RequestTag/<key> for each tag a request sets, and aws:TagKeys listing their keys (CreateUser, TagUser). */
export function userTagConditions(tags: readonly UserTag[]): ConditionValues {
  return tagConditions(tags.map((t) => [t.Key, t.Value]));
}

export function tagUser(deps: ServiceDeps, ctx: RequestContext, userName: string, tags: readonly UserTag[]): Promise<void> {
  return changeTags(deps, ctx, 'iam:TagUser', userName, userTagConditions(tags), async (repos, acct) => {
    checkUserTags(tags);
    const lower = tags.map((t) => t.Key.toLowerCase());
    const existing = Object.keys(await repos.users.tags(acct, userName));
    const replaced = existing.filter((k) => lower.includes(k.toLowerCase()));
    if (existing.length - replaced.length + tags.length > MAX_USER_TAGS) {
      throw new KmsError('LimitExceededException', `The number of tags has reached the maximum limit of ${MAX_USER_TAGS}.`);
    }
    await repos.users.removeTags(acct, userName, replaced);
    await repos.users.putTags(acct, userName, Object.fromEntries(tags.map((t) => [t.Key, t.Value])));
  });
}

export function untagUser(deps: ServiceDeps, ctx: RequestContext, userName: string, tagKeys: readonly string[]): Promise<void> {
  const lower = new Set(tagKeys.map((k) => k.toLowerCase()));
  return changeTags(deps, ctx, 'iam:UntagUser', userName, { 'aws:TagKeys': [...tagKeys] }, async (repos, acct) => {
    const existing = Object.keys(await repos.users.tags(acct, userName));
    await repos.users.removeTags(acct, userName, existing.filter((k) => lower.has(k.toLowerCase())));
  });
}

export function listUserTags(deps: ServiceDeps, ctx: RequestContext, userName: string): Promise<UserTag[]> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, 'iam:ListUserTags', userName);
    await existingUser(repos, ctx.caller.accountId, userName);
    return Object.entries(await repos.users.tags(ctx.caller.accountId, userName)).map(([Key, Value]) => ({ Key, Value }));
  });
}

/** Authorizes and applies a change; then this instance's credential cache forgets the user's access keys. */
async function changeTags(
  deps: ServiceDeps, ctx: RequestContext, action: string, userName: string, conditions: ConditionValues,
  change: (repos: Repositories, acct: string) => Promise<void>,
): Promise<void> {
  const acct = ctx.caller.accountId;
  const accessKeyIds = await audited(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, action, userName, conditions);
    await existingUser(repos, acct, userName, true);
    await change(repos, acct);
    return (await repos.accessKeys.listForPrincipal(userArn(acct, userName))).map((k) => k.accessKeyId);
  });
  for (const id of accessKeyIds) deps.credentialsChanged?.(id);
}
