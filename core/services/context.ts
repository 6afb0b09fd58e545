// What every service receives: its dependencies, and who is asking for what.
import type { Caller } from '../model.js';
import type { Clock, Hsm, UnitOfWork } from '../ports.js';
import type { Scope } from '../identifiers.js';

export interface ServiceDeps {
  uow: UnitOfWork;
  hsm: Hsm;
  clock: Clock;
  region: string;
  /** New ids (UUID v4); injectable for tests. */
  newId: () => string;
}

export interface RequestContext {
  requestId: string;
  operation: string;
  caller: Caller;
  sourceIp: string | null;
  userAgent: string | null;
  /** Set once an audit event for this request is stored, so the protocol layer records refusals exactly once. */
  audit: { recorded: boolean };
}

/** The region and account a request acts in: the caller's own account. */
export function scopeOf(deps: ServiceDeps, ctx: RequestContext): Scope {
  return { region: deps.region, accountId: ctx.caller.accountId };
}
