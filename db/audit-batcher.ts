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

/**
 * Event-loop turns a batch may wait for more events before it starts (COFFER_AUDIT_GATHER_TURNS). A batch costs
 * Postgres ≈ 0.8 ms of CPU whatever its size, plus ≈ 0.04 ms per event (bench/audit-append.txt); under load the
 * requests being handled in the same turns join it. Waiting stops after two turns that brought no event, or at
 * GATHER_ENOUGH events: an idle server's lone event waits two turns. bench/ab-audit-gather.txt has the measurements.
 */
export const DEFAULT_GATHER_TURNS = 4;
const GATHER_ENOUGH = 24;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Pending {
  event: AuditEvent;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class AuditBatcher implements AuditAppender {
  private queue: Pending[] = [];
  private committing = 0;
  private draining = false;
  private sent = 0;

  constructor(
    private readonly db: Db,
    private readonly maxBatch = MAX_AUDIT_BATCH,
    private readonly gatherTurns = DEFAULT_GATHER_TURNS,
  ) {}

  get depth(): number {
    return this.queue.length + this.committing;
  }

  get batches(): number {
    return this.sent;
  }

  append(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Waits turn by turn while events keep arriving, up to gatherTurns turns or GATHER_ENOUGH events; two turns in a row
   * that brought none end it (one alone ended it too early under load: bench/ab-audit-gather.txt).
   */
  private async gather(): Promise<void> {
    let quiet = 0;
    for (let turn = 0; turn < this.gatherTurns && this.queue.length < Math.min(GATHER_ENOUGH, this.maxBatch); turn++) {
      const before = this.queue.length;
      await nextTurn();
      quiet = this.queue.length === before ? quiet + 1 : 0;
      if (quiet === 2) return;
    }
  }

  /** One batch at a time: batches would queue on the chain head's lock anyway. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        if (this.gatherTurns > 0) await this.gather(); // not even a microtask's wait when off
        const batch = this.queue.splice(0, this.maxBatch);
        this.committing = batch.length;
        this.sent += 1;
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
