// What every CofferIdentity operation on a user starts with: the caller authorized over the user's ARN, the
// user's name checked and the user found.
import type { ConditionValues } from '../authorization.js';
import { KmsError, needs } from '../errors.js';
import type { User } from '../identity-model.js';
import type { Repositories } from '../ports.js';
import { requestConditions, type RequestContext, type ServiceDeps } from './context.js';
import { userArn } from './credentials.js';

const USER_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * IAM actions are decided by the caller's identity policies, over the user's ARN; `extra` adds the request's own
 * condition keys (aws:RequestTag/<key> and aws:TagKeys of a request that sets tags).
 */
export async function authorizeIam(
  deps: ServiceDeps, repos: Repositories, ctx: RequestContext, action: string, userName: string | null, extra: ConditionValues = {},
): Promise<void> {
  const resource = userName === null ? '*' : userArn(ctx.caller.accountId, userName);
  const conditions = { ...requestConditions(deps, ctx, null), ...extra };
  await deps.authorizer.authorize(repos, ctx.caller, { action, key: null, resource, conditions });
}

export function checkUserName(name: string): void {
  needs(USER_NAME.test(name), 'ValidationException', `The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-`);
}

/**
 * The user, or NoSuchEntityException. With `lock`, its row is held until the transaction ends: every request that adds
 * to a user (tags, access keys, policies) or deletes it takes it first, so quota checks (TagUser's 50 tags,
 * CreateAccessKey's 2 keys) see each other's writes, and nothing is added to a user while it is being deleted (an
 * access key left behind would belong to the next user given that name).
 */
export async function existingUser(repos: Repositories, accountId: string, userName: string, lock = false): Promise<User> {
  checkUserName(userName);
  const user = await (lock ? repos.users.lockForUpdate(accountId, userName) : repos.users.get(accountId, userName));
  if (!user) throw new KmsError('NoSuchEntityException', `The user with name ${userName} cannot be found.`);
  return user;
}
