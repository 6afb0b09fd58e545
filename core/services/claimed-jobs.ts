// The shape every background job shares: claim one due item (FOR UPDATE SKIP LOCKED, so instances never take the
// same one), handle it and audit it in one transaction, and repeat until nothing is due.
import { keyArn } from '../identifiers.js';
import type { Key } from '../model.js';
import type { Repositories } from '../ports.js';
import type { ServiceDeps } from './context.js';

export interface ClaimedJob<T> {
  /** The audited operation name, e.g. 'DeleteKey'. */
  operation: string;
  /** Stands in the audit event's userAgent, naming the job. */
  userAgent: string;
  claim(repos: Repositories, now: Date): Promise<T | null>;
  /** Does the work for one claimed item; returns the key it acted on (its id and account), for the audit event. */
  handle(repos: Repositories, item: T): Promise<Pick<Key, 'id' | 'accountId'>>;
}

/** Handles every due item; returns how many. */
export async function drainClaims<T>(deps: ServiceDeps, job: ClaimedJob<T>): Promise<number> {
  let handled = 0;
  for (;;) {
    const done = await deps.uow.transaction(async (repos) => {
      const item = await job.claim(repos, deps.clock.now());
      if (item === null) return false;
      const key = await job.handle(repos, item);
      const time = deps.clock.now();
      await repos.audit.append({
        id: deps.newEventId(time),
        time,
        requestId: deps.newId(),
        operation: job.operation,
        keyArn: keyArn({ region: deps.region, accountId: key.accountId }, key.id),
        callerArn: null,
        accessKeyId: null,
        sourceIp: null,
        userAgent: job.userAgent,
        outcome: 'Success',
        errorCode: null,
        encryptionContextKeys: [],
      });
      return true;
    });
    if (!done) return handled;
    handled++;
  }
}
