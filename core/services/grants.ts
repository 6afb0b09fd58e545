// Grants: CreateGrant (Name idempotency), ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.
// Grants are read from the database on every request, so a new grant works at once and a revoked one stops at once.
import { randomBytes } from 'node:crypto';
import { KmsError, needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import type { Grant, GrantConstraints } from '../identity-model.js';
import type { Key } from '../model.js';
import type { Repositories } from '../ports.js';
import { audited, auditedRead } from './audited.js';
import { authorize, requestConditions, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { dryRunSucceeded } from './crypto.js';
import { resolveKeyById } from './resolve.js';
import { keyPolicyText, wouldAllow } from '../policy/authorizer.js';
import { accessDenied, type AuthorizationRequest, type ConditionValues } from '../authorization.js';

/**
 * kms:GrantIsForAWSResource, which AWS sets for CreateGrant, ListGrants and RevokeGrant: true only when an AWS service
 * integrated with KMS calls on a user's behalf, which never happens here. Key policies written for AWS ("Bool": true)
 * therefore never match, and "Bool": false does.
 */
const NOT_FOR_AWS_RESOURCE = { 'kms:GrantIsForAWSResource': false } as const;

export const GRANT_OPERATIONS = [
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'Sign', 'Verify',
  'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
] as const;
const PRINCIPAL = /^arn:aws:(iam|sts)::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+|assumed-role\/[\w+=,.@/-]+)$/;

export interface CreateGrantInput {
  KeyId: string;
  GranteePrincipal: string;
  RetiringPrincipal?: string | undefined;
  Operations: string[];
  Constraints?: GrantConstraints | undefined;
  Name?: string | undefined;
  GrantTokens?: string[] | undefined;
  DryRun?: boolean | undefined;
}

const arnOf = (deps: ServiceDeps, key: Key) => keyArn({ region: deps.region, accountId: key.accountId }, key.id);

function checkPrincipal(member: string, value: string | undefined): void {
  if (value === undefined) return;
  needs(PRINCIPAL.test(value), 'ValidationException', `${member} ${value} is not a valid principal ARN.`);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const sortedOps = (ops: string[]) => [...new Set(ops)].sort();

export function createGrant(deps: ServiceDeps, ctx: RequestContext, input: CreateGrantInput): Promise<Grant> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, input.KeyId);
    draft.keyArn = arnOf(deps, key);
    checkPrincipal('GranteePrincipal', input.GranteePrincipal);
    checkPrincipal('RetiringPrincipal', input.RetiringPrincipal);
    needs(input.Operations.length > 0, 'ValidationException', 'Operations must name at least one grant operation.');
    const operations = sortedOps(input.Operations);
    const constraints = input.Constraints && Object.keys(input.Constraints).length > 0 ? input.Constraints : null;
    const conditions: ConditionValues = {
      'kms:GranteePrincipal': input.GranteePrincipal,
      'kms:RetiringPrincipal': input.RetiringPrincipal,
      'kms:GrantOperations': operations,
      ...(constraints ? { 'kms:GrantConstraintType': Object.keys(constraints) } : {}),
      ...NOT_FOR_AWS_RESOURCE,
    };
    await authorize(deps, repos, ctx, 'kms:CreateGrant', key, conditions);
    await checkDerivedGrant(deps, repos, ctx, key, { operations, constraints, conditions });
    needs(key.state !== 'PendingDeletion', 'KMSInvalidStateException', `${draft.keyArn} is pending deletion.`);
    if (input.DryRun) throw dryRunSucceeded();
    if (input.Name !== undefined) {
      // The key's row lock makes a retried call (an SDK retrying while the first is in flight) wait for the first and
      // find its grant, instead of both finding none and each creating one.
      await repos.keys.lockForUpdate(key.id);
      const existing = (await repos.grants.listForKey(key.id, input.GranteePrincipal)).find(
        (g) => g.name === input.Name && g.retiringPrincipal === (input.RetiringPrincipal ?? null) && same(g.operations, operations) && same(g.constraints, constraints),
      );
      if (existing) return existing;
    }
    const grant: Grant = {
      grantId: randomBytes(32).toString('hex'),
      keyId: key.id,
      keyAccountId: key.accountId,
      name: input.Name ?? null,
      granteePrincipal: input.GranteePrincipal,
      retiringPrincipal: input.RetiringPrincipal ?? null,
      operations,
      constraints,
      issuingAccount: ctx.caller.accountId,
      token: randomBytes(96).toString('base64url'),
      createdAt: deps.clock.now(),
    };
    await repos.grants.insert(grant);
    return grant;
  });
}

/** Every pair a parent grant's constraint demands is demanded by the child grant too. */
function atLeastAsStrict(parent: GrantConstraints | null, child: GrantConstraints | null): boolean {
  if (!parent) return true;
  if (!child) return false;
  const childPairs = { ...child.EncryptionContextSubset, ...child.EncryptionContextEquals };
  if (parent.EncryptionContextEquals) return same(parent.EncryptionContextEquals, child.EncryptionContextEquals);
  return Object.entries(parent.EncryptionContextSubset ?? {}).every(([k, v]) => childPairs[k] === v);
}

/**
 * A principal allowed CreateGrant only by a grant may create grants for a subset of that grant's operations,
 * with constraints at least as strict, as in AWS.
 */
async function checkDerivedGrant(
  deps: ServiceDeps,
  repos: Repositories,
  ctx: RequestContext,
  key: Key,
  child: { operations: string[]; constraints: GrantConstraints | null; conditions: ConditionValues },
): Promise<void> {
  const { operations, constraints } = child;
  const parents = (await repos.grants.listForKey(key.id, ctx.caller.arn)).filter((g) => g.operations.includes('CreateGrant'));
  if (parents.length === 0) return; // authorized by policies alone
  const conditions = { ...requestConditions(deps, ctx, key), ...child.conditions };
  const request: AuthorizationRequest = { action: 'kms:CreateGrant', key, resource: arnOf(deps, key), conditions };
  if (await wouldAllow(repos, ctx.caller, request, await keyPolicyText(repos, key.id, key.accountId))) return;
  const ok = parents.some((p) => operations.every((op) => p.operations.includes(op)) && atLeastAsStrict(p.constraints, constraints));
  if (!ok) throw accessDenied(ctx.caller, request, 'because a grant can only create grants for a subset of its own operations and constraints');
}

export function listGrants(
  deps: ServiceDeps,
  ctx: RequestContext,
  input: { KeyId: string; GrantId?: string | undefined; GranteePrincipal?: string | undefined },
): Promise<{ key: Key; grants: Grant[] }> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, input.KeyId);
    draft.keyArn = arnOf(deps, key);
    await authorize(deps, repos, ctx, 'kms:ListGrants', key, NOT_FOR_AWS_RESOURCE);
    const all = await repos.grants.listForKey(key.id, input.GranteePrincipal);
    return { key, grants: input.GrantId === undefined ? all : all.filter((g) => g.grantId === input.GrantId) };
  });
}

export function listRetirableGrants(deps: ServiceDeps, ctx: RequestContext, retiringPrincipal: string): Promise<Grant[]> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorize(deps, repos, ctx, 'kms:ListRetirableGrants', null);
    return repos.grants.listRetirable(retiringPrincipal);
  });
}

async function findGrant(repos: Repositories, deps: ServiceDeps, ctx: RequestContext, input: RetireInput): Promise<Grant> {
  if (input.GrantToken !== undefined) {
    const g = await repos.grants.byToken(input.GrantToken);
    if (!g) throw new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
    return g;
  }
  needs(input.KeyId !== undefined && input.GrantId !== undefined, 'ValidationException', 'Specify a GrantToken, or both KeyId and GrantId.');
  const key = await resolveKeyById(repos, scopeOf(deps, ctx), input.KeyId as string);
  const g = await repos.grants.get(key.id, input.GrantId as string);
  if (!g) throw new KmsError('NotFoundException', `Grant ID ${input.GrantId} not found`);
  return g;
}

interface RetireInput {
  GrantToken?: string | undefined;
  KeyId?: string | undefined;
  GrantId?: string | undefined;
  DryRun?: boolean | undefined;
}

/** The retiring principal, a grantee whose grant allows RetireGrant, or a principal the policies allow may retire. */
export function retireGrant(deps: ServiceDeps, ctx: RequestContext, input: RetireInput): Promise<void> {
  return audited(deps, ctx, async (repos, draft) => {
    const grant = await findGrant(repos, deps, ctx, input);
    const key = (await repos.keys.findById(grant.keyId)) as Key;
    draft.keyArn = arnOf(deps, key);
    const me = ctx.caller.arn;
    const byGrant = grant.retiringPrincipal === me || (grant.granteePrincipal === me && grant.operations.includes('RetireGrant'));
    if (!byGrant) await authorize(deps, repos, ctx, 'kms:RetireGrant', key);
    if (input.DryRun) throw dryRunSucceeded();
    await repos.grants.delete(grant.grantId);
  });
}

export function revokeGrant(deps: ServiceDeps, ctx: RequestContext, input: { KeyId: string; GrantId: string; DryRun?: boolean | undefined }): Promise<void> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, input.KeyId);
    draft.keyArn = arnOf(deps, key);
    await authorize(deps, repos, ctx, 'kms:RevokeGrant', key, NOT_FOR_AWS_RESOURCE);
    const grant = await repos.grants.get(key.id, input.GrantId);
    if (!grant) throw new KmsError('NotFoundException', `Grant ID ${input.GrantId} not found`);
    if (input.DryRun) throw dryRunSucceeded();
    await repos.grants.delete(grant.grantId);
  });
}
