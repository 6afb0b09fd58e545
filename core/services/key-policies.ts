// Key policies: the policy a new key gets, PutKeyPolicy, GetKeyPolicy, ListKeyPolicies, and the lockout safety check.
import { KmsError, needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import type { Caller, Key } from '../model.js';
import type { Repositories } from '../ports.js';
import { keyPolicyText, wouldAllow } from '../policy/authorizer.js';
import { DEFAULT_POLICY_NAME, defaultKeyPolicy } from '../policy/defaults.js';
import { parsePolicy } from '../policy/document.js';
import { audited, auditedRead } from './audited.js';
import { authorize, principalConditions, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKeyById } from './resolve.js';

const LOCKOUT_MESSAGE =
  'The new key policy will not allow you to update the key policy in the future.';

/**
 * Checks a policy for a key: well formed and, unless the caller bypasses the check, still letting the caller
 * call PutKeyPolicy afterwards (AWS's lockout safety check). Returns the text to store.
 */
export async function checkKeyPolicy(
  deps: ServiceDeps,
  repos: Repositories,
  caller: Caller,
  key: Key,
  policy: string | undefined,
  bypass: boolean | undefined,
): Promise<string> {
  const text = policy ?? defaultKeyPolicy(key.accountId);
  parsePolicy(text, 'resource');
  if (policy === undefined || bypass) return text;
  const resource = keyArn({ region: deps.region, accountId: key.accountId }, key.id);
  // What the principal and the server fix, not what varies by request (source address, transport, time).
  const conditions = principalConditions(caller, deps.region);
  const ok = await wouldAllow(repos, caller, { action: 'kms:PutKeyPolicy', key, resource, conditions }, text);
  needs(ok, 'MalformedPolicyDocumentException', LOCKOUT_MESSAGE);
  return text;
}

function checkPolicyName(name: string): void {
  if (name !== DEFAULT_POLICY_NAME) throw new KmsError('NotFoundException', `Policy ${name} is not found.`);
}

export function putKeyPolicy(
  deps: ServiceDeps,
  ctx: RequestContext,
  input: { KeyId: string; PolicyName?: string | undefined; Policy: string; BypassPolicyLockoutSafetyCheck?: boolean | undefined },
): Promise<void> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, input.KeyId);
    draft.keyArn = keyArn({ ...scope, accountId: key.accountId }, key.id);
    await authorize(deps, repos, ctx, 'kms:PutKeyPolicy', key, { 'kms:BypassPolicyLockoutSafetyCheck': input.BypassPolicyLockoutSafetyCheck ?? false });
    checkPolicyName(input.PolicyName ?? DEFAULT_POLICY_NAME);
    needs(key.state !== 'PendingDeletion', 'KMSInvalidStateException', `${draft.keyArn} is pending deletion.`);
    const text = await checkKeyPolicy(deps, repos, ctx.caller, key, input.Policy, input.BypassPolicyLockoutSafetyCheck);
    await repos.keyPolicies.put(key.id, text);
  });
}

export function getKeyPolicy(deps: ServiceDeps, ctx: RequestContext, keyId: string, policyName: string | undefined): Promise<string> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, keyId);
    draft.keyArn = keyArn({ ...scope, accountId: key.accountId }, key.id);
    await authorize(deps, repos, ctx, 'kms:GetKeyPolicy', key);
    checkPolicyName(policyName ?? DEFAULT_POLICY_NAME);
    return keyPolicyText(repos, key.id, key.accountId);
  });
}

export function listKeyPolicies(deps: ServiceDeps, ctx: RequestContext, keyId: string): Promise<string[]> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, keyId);
    draft.keyArn = keyArn({ ...scope, accountId: key.accountId }, key.id);
    await authorize(deps, repos, ctx, 'kms:ListKeyPolicies', key);
    return [DEFAULT_POLICY_NAME];
  });
}
