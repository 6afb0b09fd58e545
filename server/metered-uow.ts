// A UnitOfWork decorator that counts committed audit events for /metrics, without touching the core or the repositories.
import type { AuditRepository, Repositories, UnitOfWork } from '../core/ports.js';
import type { Metrics } from './metrics.js';

/** The same repository with `append` counted into `tally` (its other methods unchanged, via the prototype). */
function countingAudit(audit: AuditRepository, tally: (n: number) => void, failed?: () => void): AuditRepository {
  const counted = Object.create(audit) as AuditRepository;
  counted.append = async (event) => {
    try {
      await audit.append(event);
    } catch (e) {
      failed?.();
      throw e;
    }
    tally(1);
  };
  return counted;
}

export function meteredUnitOfWork(uow: UnitOfWork, metrics: Metrics): UnitOfWork {
  const direct: Repositories = { ...uow.repos, audit: countingAudit(uow.repos.audit, (n) => metrics.auditWrites.inc({}, n), () => metrics.auditFailures.inc()) };
  return {
    repos: direct,
    async transaction(fn) {
      let pending = 0;
      const result = await uow.transaction((repos) => fn({ ...repos, audit: countingAudit(repos.audit, (n) => (pending += n)) }));
      // Counted only once the transaction committed.
      metrics.auditWrites.inc({}, pending);
      return result;
    },
    healthy: () => uow.healthy(),
    close: () => uow.close(),
  };
}
