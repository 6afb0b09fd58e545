// The audit trail's timer: signs a checkpoint of the chain head, then applies retention (archive, then delete).
import { mkdirSync, openSync, closeSync, fsyncSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointDigest } from '../core/audit-chain.js';
import type { ServiceDeps } from '../core/services/context.js';
import { createCheckpoint } from '../core/services/audit-trail.js';
import { writeExport } from '../sdk/audit/export.js';
import type { ChainEntry } from '../sdk/audit/verify.js';
import { startJob, type Job } from './jobs.js';
import type { Logger } from './log.js';

const DAY_MS = 86_400_000;
const PAGE = 1000;

export interface AuditJobOptions {
  checkpointIntervalMs: number;
  retentionDays: number | null;
  archiveDir: string;
}

/**
 * Writes the events past the window to `<archiveDir>/audit-<first>-<last>.jsonl` (fsynced, then renamed into place),
 * then deletes them through coffer_audit_purge, which moves the chain's base to the archive's last event.
 * Returns the archive path, or null when nothing is due.
 */
export async function applyRetention(deps: ServiceDeps, days: number, archiveDir: string): Promise<string | null> {
  const audit = deps.uow.repos.audit;
  const due = await audit.lastSeqBefore(new Date(deps.clock.now().getTime() - days * DAY_MS));
  const head = await audit.head();
  if (due === null || due <= head.baseSeq) return null;
  const through = due;
  mkdirSync(archiveDir, { recursive: true, mode: 0o700 });
  const path = join(archiveDir, `audit-${head.baseSeq + 1}-${through}.jsonl`);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    let lastHash = head.baseHash;
    // The archive carries its own checkpoint: the token signs its last event's hash.
    const checkpoints = async () => {
      const time = deps.clock.now();
      const signature = Buffer.from(await deps.hsm.signAuditDigest(checkpointDigest(through, lastHash, time))).toString('base64');
      const publicKey = Buffer.from(await deps.hsm.auditPublicKey()).toString('base64');
      return [{ chainSeq: through, hash: lastHash, time: time.toISOString(), signature, publicKey }];
    };
    async function* events(): AsyncIterable<ChainEntry> {
      for (let after = head.baseSeq; after < through; ) {
        const page = await audit.chain(after, PAGE);
        if (page.length === 0) return;
        for (const e of page) {
          if (e.chainSeq > through) return;
          lastHash = e.hash;
          yield e;
        }
        after = (page[page.length - 1] as ChainEntry).chainSeq;
      }
    }
    await writeExport('jsonl', { base: { seq: head.baseSeq, hash: head.baseHash }, events, checkpoints }, { write: (s) => void writeSync(fd, s) });
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  await audit.purge(through);
  return path;
}

export function startAuditJob(deps: ServiceDeps, options: AuditJobOptions, log: Logger): Job {
  return startJob(
    {
      name: 'audit-checkpoint',
      intervalMs: options.checkpointIntervalMs,
      run: async () => {
        await createCheckpoint(deps);
        if (options.retentionDays === null) return 0;
        const archived = await applyRetention(deps, options.retentionDays, options.archiveDir);
        if (archived) log.info('archived and removed audit events past the retention window', { archive: archived });
        return archived ? 1 : 0;
      },
    },
    log,
  );
}
