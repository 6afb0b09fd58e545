// Audit group commit: the AuditAppender over Drizzle. Events that arrive while one batch commits form the next
// batch; each batch is one statement committing by itself (head lock, chaining, one multi-row INSERT, head update:
// db/repos/audit.ts appendChained), and every caller's promise settles only after that commit: resolved when
// durable, rejected (as a KmsError) when the batch failed.
import type { AuditEvent } from '../core/audit.js';
import type { AuditAppender } from '../core/ports.js';
import type { Db } from './client.js';
import { guard } from './errors.js';
import { appendChained, DUPLICATE_EVENT } from './repos/audit.js';

/** Rows per INSERT: 21 columns each stays far below Postgres' 65,535 bind parameters. */
export const MAX_AUDIT_BATCH = 500;

interface Pending {
  event: AuditEvent;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class AuditBatcher implements AuditAppender {
  private queue: Pending[] = [];
  private committing = 0;
  private draining = false;

  constructor(
    private readonly db: Db,
    private readonly maxBatch = MAX_AUDIT_BATCH,
  ) {}

  get depth(): number {
    return this.queue.length + this.committing;
  }

  append(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** One batch at a time: batches would queue on the chain head's lock anyway. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        this.committing = batch.length;
        try {
          await guard(() => appendChained(this.db, batch.map((p) => p.event)), DUPLICATE_EVENT);
          for (const p of batch) p.resolve();
        } catch (e) {
          for (const p of batch) p.reject(e);
        } finally {
          this.committing = 0;
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
