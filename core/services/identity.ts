// CofferIdentity: accounts, users, access keys and inline user policies, in IAM's shapes. An account's admin
// manages its own account; only the system administrator (admin of the default account) creates accounts.
import { randomInt } from 'node:crypto';
import { isKmsError, KmsError, needs } from '../errors.js';
import type { Account, User, UserPolicy } from '../identity-model.js';
import type { AccessKey, AccessKeyStatus } from '../model.js';
import type { Repositories } from '../ports.js';
import { ADMIN_USER } from '../policy/authorizer.js';
import { parsePolicy } from '../policy/document.js';
import { audited, auditedRead } from './audited.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { issueAccessKey, newIamId, userArn } from './credentials.js';
import { authorizeIam, checkUserName, existingUser } from './iam-access.js';
import { checkUserTags, userTagConditions, type UserTag } from './user-tags.js';

const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const MAX_ACCESS_KEYS = 2;

export function createAccount(
  deps: ServiceDeps,
  ctx: RequestContext,
  input: { AccountName: string; AccountId?: string | undefined },
): Promise<{ account: Account; key: AccessKey; secretAccessKey: string }> {
  return audited(deps, ctx, async (repos) => {
    const c = ctx.caller;
    if (!(deps.systemAccountId !== undefined && c.accountId === deps.systemAccountId && c.userName === ADMIN_USER)) {
      throw new KmsError('AccessDeniedException', `User: ${c.arn} is not authorized to perform: coffer:CreateAccount because only the system administrator may create accounts`);
    }
    const accountId = input.AccountId ?? String(randomInt(100_000_000_000, 999_999_999_999));
    needs(/^\d{12}$/.test(accountId), 'ValidationException', 'AccountId must be 12 digits.');
    const exists = () => new KmsError('EntityAlreadyExistsException', `Account ${accountId} already exists.`);
    if (await repos.accounts.get(accountId)) throw exists();
    const now = deps.clock.now();
    // Inserted here rather than through ensureAccount, which lets an existing row be: a concurrent CreateAccount for
    // the same id commits first, and this insert's unique violation says so, instead of both answering with a key.
    await insertNew(repos.accounts.insert({ accountId, name: input.AccountName, createdAt: now }), exists);
    await repos.users.insert({ accountId, userName: ADMIN_USER, userId: newIamId('AIDA'), createdAt: now });
    const { key, secretAccessKey } = await issueAccessKey(repos, deps.hsm, accountId, ADMIN_USER, now);
    return { account: { accountId, name: input.AccountName, createdAt: now }, key, secretAccessKey };
  });
}

/**
 * An insert whose unique violation (the repository's AlreadyExistsException) is answered with IAM's error: when a
 * concurrent request created the same row after this one's existence check.
 */
async function insertNew(insert: Promise<void>, exists: () => KmsError): Promise<void> {
  try {
    await insert;
  } catch (e) {
    throw isKmsError(e) && e.code === 'AlreadyExistsException' ? exists() : e;
  }
}

/** As IAM: a user created with tags needs iam:TagUser as well as iam:CreateUser, each seeing the tags requested. */
export function createUser(deps: ServiceDeps, ctx: RequestContext, userName: string, tags: readonly UserTag[] = []): Promise<User> {
  return audited(deps, ctx, async (repos) => {
    checkUserName(userName);
    checkUserTags(tags);
    const conditions = tags.length > 0 ? userTagConditions(tags) : {};
    await authorizeIam(deps, repos, ctx, 'iam:CreateUser', userName, conditions);
    if (tags.length > 0) await authorizeIam(deps, repos, ctx, 'iam:TagUser', userName, conditions);
    const acct = ctx.caller.accountId;
    const exists = () => new KmsError('EntityAlreadyExistsException', `User with name ${userName} already exists.`);
    if (await repos.users.get(acct, userName)) throw exists();
    const user: User = { accountId: acct, userName, userId: newIamId('AIDA'), createdAt: deps.clock.now() };
    await insertNew(repos.users.insert(user), exists);
    if (tags.length > 0) await repos.users.putTags(acct, userName, Object.fromEntries(tags.map((t) => [t.Key, t.Value])));
    return user;
  });
}

/** As IAM: a user with access keys or policies cannot be deleted; the account's admin never. */
export function deleteUser(deps: ServiceDeps, ctx: RequestContext, userName: string): Promise<void> {
  return audited(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, 'iam:DeleteUser', userName);
    const acct = ctx.caller.accountId;
    await existingUser(repos, acct, userName, true);
    needs(userName !== ADMIN_USER, 'DeleteConflictException', 'The account administrator cannot be deleted.');
    if ((await repos.accessKeys.listForPrincipal(userArn(acct, userName))).length > 0) {
      throw new KmsError('DeleteConflictException', 'Cannot delete entity, must delete access keys first.');
    }
    if ((await repos.userPolicies.list(acct, userName)).length > 0) {
      throw new KmsError('DeleteConflictException', 'Cannot delete entity, must delete policies first.');
    }
    await repos.users.delete(acct, userName);
  });
}

/**
 * A user of the caller's account with its tags; without a name, the caller's own (as IAM's GetUser), so a user can
 * learn its id.
 */
export function getUser(deps: ServiceDeps, ctx: RequestContext, userName: string | undefined): Promise<{ user: User; tags: UserTag[] }> {
  return auditedRead(deps, ctx, async (repos) => {
    const name = userName ?? ctx.caller.userName;
    await authorizeIam(deps, repos, ctx, 'iam:GetUser', name);
    const user = await existingUser(repos, ctx.caller.accountId, name);
    const tags = Object.entries(await repos.users.tags(user.accountId, name)).map(([Key, Value]) => ({ Key, Value }));
    return { user, tags };
  });
}

export function listUsers(deps: ServiceDeps, ctx: RequestContext): Promise<User[]> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, 'iam:ListUsers', null);
    return repos.users.list(ctx.caller.accountId);
  });
}

export function createAccessKey(deps: ServiceDeps, ctx: RequestContext, userName: string | undefined) {
  return audited(deps, ctx, async (repos) => {
    const name = userName ?? ctx.caller.userName;
    await authorizeIam(deps, repos, ctx, 'iam:CreateAccessKey', name);
    const acct = ctx.caller.accountId;
    await existingUser(repos, acct, name, true);
    const count = (await repos.accessKeys.listForPrincipal(userArn(acct, name))).length;
    needs(count < MAX_ACCESS_KEYS, 'LimitExceededException', `Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS}`);
    return issueAccessKey(repos, deps.hsm, acct, name, deps.clock.now());
  });
}

async function ownKey(repos: Repositories, ctx: RequestContext, userName: string, accessKeyId: string): Promise<AccessKey> {
  const key = await repos.accessKeys.get(accessKeyId);
  if (!key || key.accountId !== ctx.caller.accountId || key.userName !== userName) {
    throw new KmsError('NoSuchEntityException', `The Access Key with id ${accessKeyId} cannot be found.`);
  }
  return key;
}

export async function updateAccessKey(
  deps: ServiceDeps,
  ctx: RequestContext,
  input: { UserName?: string | undefined; AccessKeyId: string; Status: AccessKeyStatus },
): Promise<void> {
  await audited(deps, ctx, async (repos) => {
    const name = input.UserName ?? ctx.caller.userName;
    await authorizeIam(deps, repos, ctx, 'iam:UpdateAccessKey', name);
    await ownKey(repos, ctx, name, input.AccessKeyId);
    await repos.accessKeys.setStatus(input.AccessKeyId, input.Status);
  });
  deps.credentialsChanged?.(input.AccessKeyId);
}

export async function deleteAccessKey(
  deps: ServiceDeps,
  ctx: RequestContext,
  input: { UserName?: string | undefined; AccessKeyId: string },
): Promise<void> {
  await audited(deps, ctx, async (repos) => {
    const name = input.UserName ?? ctx.caller.userName;
    await authorizeIam(deps, repos, ctx, 'iam:DeleteAccessKey', name);
    await ownKey(repos, ctx, name, input.AccessKeyId);
    await repos.accessKeys.delete(input.AccessKeyId);
  });
  deps.credentialsChanged?.(input.AccessKeyId);
}

export function listAccessKeys(deps: ServiceDeps, ctx: RequestContext, userName: string | undefined): Promise<AccessKey[]> {
  return auditedRead(deps, ctx, async (repos) => {
    const name = userName ?? ctx.caller.userName;
    await authorizeIam(deps, repos, ctx, 'iam:ListAccessKeys', name);
    await existingUser(repos, ctx.caller.accountId, name);
    return repos.accessKeys.listForPrincipal(userArn(ctx.caller.accountId, name));
  });
}

export function putUserPolicy(deps: ServiceDeps, ctx: RequestContext, input: { UserName: string; PolicyName: string; PolicyDocument: string }) {
  return audited(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, 'iam:PutUserPolicy', input.UserName);
    await existingUser(repos, ctx.caller.accountId, input.UserName, true);
    needs(POLICY_NAME.test(input.PolicyName), 'ValidationException', 'The specified value for policyName is invalid.');
    parsePolicy(input.PolicyDocument, 'identity');
    await repos.userPolicies.put({ accountId: ctx.caller.accountId, userName: input.UserName, policyName: input.PolicyName, document: input.PolicyDocument });
  });
}

export function getUserPolicy(deps: ServiceDeps, ctx: RequestContext, userName: string, policyName: string): Promise<UserPolicy> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, 'iam:GetUserPolicy', userName);
    await existingUser(repos, ctx.caller.accountId, userName);
    const p = await repos.userPolicies.get(ctx.caller.accountId, userName, policyName);
    if (!p) throw new KmsError('NoSuchEntityException', `The user policy with name ${policyName} cannot be found.`);
    return p;
  });
}

export function deleteUserPolicy(deps: ServiceDeps, ctx: RequestContext, userName: string, policyName: string): Promise<void> {
  return audited(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, 'iam:DeleteUserPolicy', userName);
    await existingUser(repos, ctx.caller.accountId, userName);
    if (!(await repos.userPolicies.delete(ctx.caller.accountId, userName, policyName))) {
      throw new KmsError('NoSuchEntityException', `The user policy with name ${policyName} cannot be found.`);
    }
  });
}

export function listUserPolicies(deps: ServiceDeps, ctx: RequestContext, userName: string): Promise<string[]> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorizeIam(deps, repos, ctx, 'iam:ListUserPolicies', userName);
    await existingUser(repos, ctx.caller.accountId, userName);
    return (await repos.userPolicies.list(ctx.caller.accountId, userName)).map((p) => p.policyName);
  });
}
