// AuditRepository over Drizzle: an append-only log of audit events, read newest first.
import { desc } from 'drizzle-orm';
import type { AuditEvent } from '../../core/audit.js';
import type { AuditRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { auditEvents } from '../schema.js';

type AuditRow = typeof auditEvents.$inferSelect;

const toEvent = (r: AuditRow): AuditEvent => ({
  id: r.id,
  time: r.time,
  requestId: r.requestId,
  operation: r.operation,
  keyArn: r.keyArn,
  callerArn: r.callerArn,
  accessKeyId: r.accessKeyId,
  sourceIp: r.sourceIp,
  userAgent: r.userAgent,
  outcome: r.outcome,
  errorCode: r.errorCode,
  encryptionContextKeys: r.encryptionContextKeys,
});

export class DrizzleAuditRepository implements AuditRepository {
  constructor(private readonly db: Db) {}

  append(event: AuditEvent): Promise<void> {
    return guard(async () => {
      await this.db.insert(auditEvents).values({ ...event, encryptionContextKeys: [...event.encryptionContextKeys] });
    }, 'An audit event with this id already exists.');
  }

  recent(limit: number): Promise<AuditEvent[]> {
    return guard(async () => {
      const rows = await this.db.select().from(auditEvents).orderBy(desc(auditEvents.seq)).limit(limit);
      return rows.map(toEvent);
    });
  }
}
