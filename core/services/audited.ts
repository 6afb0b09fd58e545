// Runs a use case with its audit event, durable before the answer goes out. A use case that changes state runs in
// one unit of work whose commit includes its event (audited); one that changes nothing (cryptographic operations,
// reads) runs on the plain repositories and hands its event to the group-committing appender (auditedRead).
// A refused or failed request gets a failure event; if no event can be stored, the request fails with
// KMSInternalException, or DependencyTimeoutException when the database is unreachable (fail closed).
import { newDraft, truncateUserAgent, type AuditDraft, type AuditEvent } from '../audit.js';
import { internalError, isKmsError, type KmsError } from '../errors.js';
import type { Caller } from '../model.js';
import type { Repositories } from '../ports.js';
import type { RequestContext, ServiceDeps } from './context.js';

export interface AuditSubject {
  requestId: string;
  operation: string;
  caller: Caller | null;
  sourceIp: string | null;
  userAgent: string | null;
  /** The request's allow-listed parameters (core/audit.ts requestParameters), when the body was parsed. */
  requestParameters?: Record<string, unknown> | null;
  audit?: { recorded: boolean };
}

export function toKmsError(e: unknown): KmsError {
  return isKmsError(e) ? e : internalError(e);
}

function eventOf(deps: ServiceDeps, s: AuditSubject, draft: AuditDraft, error: KmsError | null): AuditEvent {
  const time = deps.clock.now();
  return {
    id: deps.newEventId(time),
    time,
    requestId: s.requestId,
    operation: s.operation,
    keyArn: draft.keyArn,
    callerArn: s.caller?.arn ?? null,
    accessKeyId: s.caller?.accessKeyId ?? null,
    sourceIp: s.sourceIp,
    userAgent: truncateUserAgent(s.userAgent),
    outcome: error ? 'Failure' : 'Success',
    errorCode: error?.code ?? null,
    encryptionContextKeys: draft.encryptionContextKeys,
    userName: s.caller?.userName ?? null,
    accountId: s.caller?.accountId ?? null,
    region: deps.region,
    errorMessage: error?.message ?? null,
    requestParameters: s.requestParameters ?? null,
    ...(draft.sourceKeyArn ? { sourceKeyArn: draft.sourceKeyArn } : {}),
  };
}

/** Records a request refused before any use case ran (authentication, validation, unknown operation). */
export function recordRefusal(deps: ServiceDeps, s: AuditSubject, error: KmsError, draft = newDraft()): Promise<void> {
  return appendEvent(deps, s, draft, error);
}

/** Stores the event outside a transaction (group commit); a failure to store it is the request's error. */
async function appendEvent(deps: ServiceDeps, s: AuditSubject, draft: AuditDraft, error: KmsError | null): Promise<void> {
  try {
    await deps.uow.repos.audit.append(eventOf(deps, s, draft, error));
    if (s.audit) s.audit.recorded = true;
  } catch (e) {
    // An unreachable database stays a retryable dependency error (503); anything else fails closed as internal.
    throw isKmsError(e) && e.code === 'DependencyTimeoutException' ? e : internalError(e);
  }
}

/**
 * For use cases that change no state: `fn` reads through the plain repositories, and the success event goes to the
 * batching appender; the answer is returned only once that event is committed. `fn` must not write.
 */
export async function auditedRead<T>(
  deps: ServiceDeps,
  ctx: RequestContext,
  fn: (repos: Repositories, draft: AuditDraft) => Promise<T>,
): Promise<T> {
  const draft = newDraft();
  let result: T;
  try {
    result = await fn(deps.uow.repos, draft);
  } catch (e) {
    return refused(deps, ctx, draft, e);
  }
  await appendEvent(deps, ctx, draft, null);
  return result;
}

export async function audited<T>(
  deps: ServiceDeps,
  ctx: RequestContext,
  fn: (repos: Repositories, draft: AuditDraft) => Promise<T>,
): Promise<T> {
  const draft = newDraft();
  try {
    const committed = await deps.uow.transaction(async (repos) => {
      const result = await fn(repos, draft);
      await repos.audit.append(eventOf(deps, ctx, draft, null));
      return result;
    });
    ctx.audit.recorded = true;
    return committed;
  } catch (e) {
    return refused(deps, ctx, draft, e);
  }
}

/** A use case that failed: its failure event is recorded (fail closed if it cannot be), then its error thrown. */
async function refused(deps: ServiceDeps, ctx: RequestContext, draft: AuditDraft, e: unknown): Promise<never> {
  const error = toKmsError(e);
  await recordRefusal(deps, ctx, error, draft);
  throw error;
}
