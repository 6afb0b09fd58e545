// Audit group commit: the AuditAppender over Drizzle. Events that arrive while batches commit form the next batch;
// each batch is one statement committing by itself (head lock, chaining, one multi-row INSERT, head update:
// db/repos/audit.ts appendChained), and every caller's promise settles only after that commit: resolved when
// durable, rejected (as a KmsError) when the batch failed. Two batches may be in flight: the second waits on the
// chain head's row lock while the first commits, so it is written the moment the lock is free, not after the first
// batch's answers have been sent. Chain order is decided under the lock.
import type { AuditEvent } from '../core/audit.js';
import type { AuditAppender } from '../core/ports.js';
import type { Db } from './client.js';
import { guard } from './errors.js';
import { appendChained, DUPLICATE_EVENT } from './repos/audit.js';

/** Rows per INSERT: 21 columns each stays far below Postgres' 65,535 bind parameters. */
export const MAX_AUDIT_BATCH = 500;
/** Batches in flight at once (each holds a pooled connection). */
export const AUDIT_BATCHES_IN_FLIGHT = 2;

interface Pending {
  event: AuditEvent;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class AuditBatcher implements AuditAppender {
  private queue: Pending[] = [];
  private committing = 0;
  private inFlight = 0;

  constructor(
    private readonly db: Db,
    private readonly maxBatch = MAX_AUDIT_BATCH,
    private readonly maxInFlight = AUDIT_BATCHES_IN_FLIGHT,
  ) {}

  get depth(): number {
    return this.queue.length + this.committing;
  }

  append(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      this.committing += batch.length;
      void this.commit(batch).finally(() => {
        this.inFlight -= 1;
        this.committing -= batch.length;
        this.pump();
      });
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await guard(() => appendChained(this.db, batch.map((p) => p.event)), DUPLICATE_EVENT);
      for (const p of batch) p.resolve();
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
