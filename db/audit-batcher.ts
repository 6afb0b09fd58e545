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

/**
 * Milliseconds a batch may wait when the loop went quiet (two turns brought no event) while requests are still in
 * flight without having appended (COFFER_AUDIT_LINGER_MS): they wait on something other than the loop, an RSA
 * signature on the thread pool say, and append later. Without it, batches under Sign RSA_2048 load held 1–4 events
 * and Postgres's fixed cost per batch was paid again and again. The wait ends early once GATHER_ENOUGH events are
 * queued or every request in flight has appended; with no other request in flight there is none; a loop busy with
 * requests (Encrypt, GenerateRandom) does not go quiet, and its batches fill within the turns and never linger.
 * bench/ab-audit-linger-2026-11-30.txt has the measurements.
 */
export const DEFAULT_LINGER_MS = 10;

export interface AuditBatcherTuning {
  /** Row cap per INSERT. */
  maxBatch?: number;
  gatherTurns?: number;
  lingerMs?: number;
}

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
  private readonly maxBatch: number;
  private readonly gatherTurns: number;
  private readonly lingerMs: number;
  /** Requests this process is handling, those whose events are queued here included; unset: it never lingers. */
  private inFlight: (() => number) | undefined;
  /** Ends the current linger; set only while one lasts. */
  private stopLingering: (() => void) | null = null;

  constructor(
    private readonly db: Db,
    tuning: AuditBatcherTuning = {},
  ) {
    this.maxBatch = tuning.maxBatch ?? MAX_AUDIT_BATCH;
    this.gatherTurns = tuning.gatherTurns ?? DEFAULT_GATHER_TURNS;
    this.lingerMs = tuning.lingerMs ?? DEFAULT_LINGER_MS;
  }

  /** Where the count of requests in flight comes from, once the server has one (it is built after the database). */
  countInFlight(inFlight: () => number): void {
    this.inFlight = inFlight;
  }

  get depth(): number {
    return this.queue.length + this.committing;
  }

  get batches(): number {
    return this.sent;
  }

  append(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (this.stopLingering && !this.worthLingering()) this.stopLingering();
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Waits turn by turn while events keep arriving, up to gatherTurns turns or GATHER_ENOUGH events; two turns in a row
   * that brought none end it (one alone ended it too early under load: bench/ab-audit-gather.txt).
   */
  private async gather(): Promise<void> {
    let quiet = 0;
    for (let turn = 0; turn < this.gatherTurns && this.queue.length < this.enough(); turn++) {
      const before = this.queue.length;
      await nextTurn();
      quiet = this.queue.length === before ? quiet + 1 : 0;
      if (quiet === 2) {
        await this.linger();
        return;
      }
    }
  }

  private enough(): number {
    return Math.min(GATHER_ENOUGH, this.maxBatch);
  }

  /**
   * Requests in flight that have not appended yet, while the batch is small. Asked only after turns have passed: the
   * requests of the batch just committed answer in the microtasks after it, and count as in flight until then.
   */
  private worthLingering(): boolean {
    if (this.inFlight === undefined || this.queue.length >= this.enough()) return false;
    return this.inFlight() > this.queue.length;
  }

  private async linger(): Promise<void> {
    if (this.lingerMs <= 0 || !this.worthLingering()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.stopLingering?.(), this.lingerMs);
      this.stopLingering = () => {
        clearTimeout(timer);
        this.stopLingering = null;
        resolve();
      };
    });
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
