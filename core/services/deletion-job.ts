// The background job that destroys keys whose waiting period is over. Each key is claimed with
// FOR UPDATE SKIP LOCKED, so several server instances running the job delete each key once.
import { drainClaims } from './claimed-jobs.js';
import type { ServiceDeps } from './context.js';

/** Deletes every due key; returns how many. Token objects go first; destroying is idempotent, so a retry after a failed commit is safe. */
export function deleteDueKeys(deps: ServiceDeps): Promise<number> {
  return drainClaims(deps, {
    operation: 'DeleteKey',
    userAgent: 'coffer-deletion-job',
    claim: (repos, now) => repos.keys.claimDueForDeletion(now),
    handle: async (repos, key) => {
      for (const v of await repos.keys.listVersions(key.id)) await deps.hsm.destroyRootKey(v.id);
      await repos.keys.delete(key.id);
      return key;
    },
  });
}
