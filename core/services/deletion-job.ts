// The background job that destroys keys whose waiting period is over. Each key is claimed with
// FOR UPDATE SKIP LOCKED, so several server instances running the job delete each key once.
import { keyArn } from '../identifiers.js';
import type { ServiceDeps } from './context.js';

/** Deletes every due key; returns how many. Token objects go first; destroying is idempotent, so a retry after a failed commit is safe. */
export async function deleteDueKeys(deps: ServiceDeps): Promise<number> {
  let deleted = 0;
  for (;;) {
    const done = await deps.uow.transaction(async (repos) => {
      const key = await repos.keys.claimDueForDeletion(deps.clock.now());
      if (!key) return false;
      for (const v of await repos.keys.listVersions(key.id)) await deps.hsm.destroyRootKey(v.id);
      await repos.keys.delete(key.id);
      await repos.audit.append({
        id: deps.newId(),
        time: deps.clock.now(),
        requestId: deps.newId(),
        operation: 'DeleteKey',
        keyArn: keyArn({ region: deps.region, accountId: key.accountId }, key.id),
        callerArn: null,
        accessKeyId: null,
        sourceIp: null,
        userAgent: 'coffer-deletion-job',
        outcome: 'Success',
        errorCode: null,
        encryptionContextKeys: [],
      });
      return true;
    });
    if (!done) return deleted;
    deleted++;
  }
}
