// What every service receives: its dependencies, and who is asking for what.
import type { AuthorizationRequest, Authorizer, ConditionValues } from '../authorization.js';
import type { Caller, Key } from '../model.js';
import type { Clock, Hsm, Repositories, UnitOfWork } from '../ports.js';
import { KmsError } from '../errors.js';
import { keyArn, type Scope } from '../identifiers.js';

export interface ServiceDeps {
  uow: UnitOfWork;
  hsm: Hsm;
  clock: Clock;
  authorizer: Authorizer;
  region: string;
  /** New ids (UUID v4); injectable for tests. */
  newId: () => string;
  /** An audit event's id, from the event's time (UUID v7: core/event-id.ts); injectable for tests. */
  newEventId: (time: Date) => string;
  /** The default account, whose `admin` is the system administrator (may call CofferIdentity.CreateAccount). */
  systemAccountId?: string;
  /** Told after an access key's status changed or it was deleted, so a credential cache forgets it at once. */
  credentialsChanged?: (accessKeyId: string) => void;
  /** Told after a domain-key rotation, so the rewrap job starts at once instead of at its next tick. */
  domainKeyRotated?: () => void;
}

export interface RequestContext {
  requestId: string;
  operation: string;
  caller: Caller;
  sourceIp: string | null;
  /** Whether the client's connection used TLS (aws:SecureTransport); absent for work no client asked for (jobs). */
  secureTransport?: boolean;
  userAgent: string | null;
  /** The request's allow-listed parameters for the audit record (core/audit.ts requestParameters). */
  requestParameters?: Record<string, unknown> | null;
  /** Set once an audit event for this request is stored, so the protocol layer records refusals exactly once. */
  audit: { recorded: boolean };
}

/** Refuses a caller outside the system account: `because` says why the action is the system account's alone. */
export function systemAccountOnly(deps: ServiceDeps, ctx: RequestContext, action: string, because: string): void {
  if (deps.systemAccountId !== undefined && ctx.caller.accountId === deps.systemAccountId) return;
  throw new KmsError('AccessDeniedException', `User: ${ctx.caller.arn} is not authorized to perform: ${action} because ${because}; only principals of the system account may use it`);
}

/** The region and account a request acts in: the caller's own account. */
export function scopeOf(deps: ServiceDeps, ctx: RequestContext): Scope {
  return { region: deps.region, accountId: ctx.caller.accountId };
}

/** Asks the authorizer whether the caller may perform `action` on `key` (or on the account when key is null). */
export function authorize(
  deps: ServiceDeps,
  repos: Repositories,
  ctx: RequestContext,
  action: string,
  key: Key | null,
  conditions: ConditionValues = {},
): Promise<void> {
  const resource = key ? keyArn({ region: deps.region, accountId: key.accountId }, key.id) : '*';
  const request: AuthorizationRequest = { action, key, resource, conditions: Object.assign(requestConditions(deps, ctx, key), conditions) };
  return deps.authorizer.authorize(repos, ctx.caller, request);
}

/**
 * The condition keys that the principal and the server fix, whatever the request: who calls, with its tags (the
 * caller is always an IAM user here: access keys belong to users), and where (the region). The key-policy lockout
 * check uses these alone. A fresh object each call.
 */
export function principalConditions(caller: Caller, region: string): ConditionValues {
  const values: ConditionValues = {
    'kms:CallerAccount': caller.accountId,
    'aws:PrincipalArn': caller.arn,
    'aws:PrincipalAccount': caller.accountId,
    'aws:PrincipalType': caller.arn.includes(':user/') ? 'User' : undefined,
    'aws:username': caller.userName,
    'aws:userid': caller.userId,
    'aws:RequestedRegion': region,
  };
  for (const [k, v] of Object.entries(caller.principalTags ?? {})) values[`aws:PrincipalTag/${k}`] = v;
  return values;
}

/** The global condition keys every request offers, and the key's own when there is one (a fresh object). */
export function requestConditions(deps: ServiceDeps, ctx: RequestContext, key: Key | null): ConditionValues {
  const now = deps.clock.now();
  const values = principalConditions(ctx.caller, deps.region);
  values['aws:CurrentTime'] = now.toISOString();
  values['aws:EpochTime'] = Math.floor(now.getTime() / 1000);
  values['aws:SourceIp'] = ctx.sourceIp ?? undefined;
  values['aws:SecureTransport'] = ctx.secureTransport;
  if (key) {
    values['kms:KeySpec'] = key.keySpec;
    values['kms:KeyUsage'] = key.keyUsage;
    values['kms:KeyOrigin'] = key.origin;
  }
  return values;
}
