// AuditRepository over Drizzle: an append-only, hash-chained log of audit events with signed checkpoints.
import { and, desc, eq, gt, gte, isNotNull, lt, lte, max, or, sql, type SQL } from 'drizzle-orm';
import { cloudTrailRecordJson, keysUsedBy, type AuditEvent, type KeyLastUse } from '../../core/audit.js';
import { type ChainedEvent, type ChainHead, type Checkpoint } from '../../core/audit-chain.js';
import { internalError } from '../../core/errors.js';
import type { AuditAppender, AuditLookupFilter, AuditRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { auditChainHead, auditCheckpoints, auditEvents, keyLastUsage, keyUsageTracking } from '../schema.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type AuditRow = typeof auditEvents.$inferSelect;

const toEvent = (r: AuditRow): AuditEvent => ({
  id: r.id,
  time: r.time,
  requestId: r.requestId,
  operation: r.operation,
  keyArn: r.keyArn,
  ...(r.sourceKeyArn ? { sourceKeyArn: r.sourceKeyArn } : {}),
  callerArn: r.callerArn,
  accessKeyId: r.accessKeyId,
  sourceIp: r.sourceIp,
  userAgent: r.userAgent,
  outcome: r.outcome,
  errorCode: r.errorCode,
  encryptionContextKeys: r.encryptionContextKeys,
});

const chained = { chainSeq: auditEvents.chainSeq, prevHash: auditEvents.prevHash, hash: auditEvents.hash, record: auditEvents.record };
const toChained = (r: { chainSeq: number | null; prevHash: string | null; hash: string | null; record: string | null }): ChainedEvent => ({
  chainSeq: r.chainSeq ?? 0,
  prevHash: r.prevHash ?? '',
  hash: r.hash ?? '',
  record: r.record ?? '',
});

export const DUPLICATE_EVENT = 'An audit event with this id already exists.';

/**
 * Appends the events, in order, at the head of the one linear chain in ONE statement (one round trip; run outside a
 * transaction it commits by itself): it locks the head row, chains the records in SQL (the same hash as
 * core/audit-chain.ts chainHash, over the stored record), inserts them and moves the head. The head row is the lock
 * every appender (a state change's transaction, or a batch) queues on until its transaction ends, so all writers
 * share one chain; a blocked appender re-reads the head once it gets the lock (READ COMMITTED).
 */
export async function appendChained(db: Db, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((event, i) => {
    const row: BatchRow = {
      n: i + 1, id: event.id, time: event.time.toISOString(), request_id: event.requestId, operation: event.operation, key_arn: event.keyArn,
      caller_arn: event.callerArn, access_key_id: event.accessKeyId, source_ip: event.sourceIp, user_agent: event.userAgent,
      outcome: event.outcome, error_code: event.errorCode, encryption_context_keys: event.encryptionContextKeys,
    };
    // Only ReEncrypt has one; absent from the JSON, jsonb_to_recordset reads NULL.
    if (event.sourceKeyArn && event.sourceKeyArn !== event.keyArn) row.source_key_arn = event.sourceKeyArn;
    return row;
  });
  // Prepared (named) on Postgres: the statement is the same text every time, so each connection parses and plans
  // it once, and a batch is one Bind/Execute instead of Parse/Describe, a round trip, then Bind/Execute.
  const query = { sql: APPEND_CHAINED, params: [batchJson(rows), recordLines(events), usageJson(events)] };
  const r: unknown = await db._.session.prepareQuery(query, undefined, 'coffer_audit_append', false).execute();
  const updated = (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows).length;
  if (updated !== 1) throw internalError(new Error('audit chain head missing'));
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what must go
const NOT_STORABLE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\u0000/g;

/**
 * JSON.stringify replacer: lone UTF-16 surrogates and NUL (a caller can send them, e.g. in an encryption-context key)
 * become U+FFFD; jsonb would refuse their escapes and with them the whole batch, every other caller's event included.
 * The record itself never holds them raw (canonical JSON escapes both), so its hash is unaffected.
 */
function wellFormed(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replace(NOT_STORABLE, '\ufffd') : value;
}

/**
 * JSON.stringify escapes exactly the characters jsonb refuses (NUL as \u0000, a lone surrogate as \udXXX), and a
 * batch almost never holds one: stringify plainly, and only when such an escape may be there (a false alarm costs
 * the slow path, nothing else) again with the replacer that calls wellFormed on every value.
 */
const MAYBE_NOT_STORABLE = /\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

export function batchJson(rows: readonly BatchRow[]): string {
  const plain = JSON.stringify(rows);
  return MAYBE_NOT_STORABLE.test(plain) ? JSON.stringify(rows, wellFormed) : plain;
}

/**
 * The batch's canonical records, one per line: canonical JSON escapes every control character, so a record never
 * holds a line feed, and a line is exactly a record. Sent as text beside the rows rather than as a string inside
 * their JSON, which escaped each ~1 KB record's quotes again in node and had Postgres lex them back (the rows'
 * JSON was 3x smaller without them; ~2 µs per event less here).
 */
export function recordLines(events: readonly AuditEvent[]): string {
  const records = events.map(cloudTrailRecordJson);
  for (const r of records) if (r.includes('\n')) throw internalError(new Error('an audit record holds a line feed'));
  return records.join('\n');
}

/** A key_last_usage row as jsonb_to_recordset reads it. */
interface UsageRow {
  key_id: string;
  operation: string;
  time: string;
  event_id: string;
  request_id: string;
}

/**
 * The batch's key uses, one row per key (its last use in the batch; events are in order): ON CONFLICT DO UPDATE
 * refuses to touch a row twice in one statement, and that error would fail the whole batch. Key ARNs that do not end
 * in a key id are left out for the same reason (a uuid cast failing in SQL).
 */
export function usageJson(events: readonly AuditEvent[]): string {
  const byKey = new Map<string, UsageRow>();
  for (const e of events) {
    for (const arn of keysUsedBy(e)) {
      const keyId = arn.slice(arn.lastIndexOf('/') + 1);
      if (!UUID.test(keyId)) continue;
      byKey.set(keyId.toLowerCase(), { key_id: keyId.toLowerCase(), operation: e.operation, time: e.time.toISOString(), event_id: e.id, request_id: e.requestId });
    }
  }
  return JSON.stringify([...byKey.values()]);
}

/** An audit_events row as jsonb_to_recordset reads it (column name → JSON value), `n` its place in the batch. */
export interface BatchRow {
  n: number;
  id: string;
  time: string;
  request_id: string;
  operation: string;
  key_arn: string | null;
  source_key_arn?: string;
  caller_arn: string | null;
  access_key_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  outcome: string;
  error_code: string | null;
  encryption_context_keys: string[];
}

const BATCH_TYPES: Record<keyof BatchRow, string> = {
  n: 'bigint', id: 'uuid', time: 'timestamptz', request_id: 'text', operation: 'text', key_arn: 'text', source_key_arn: 'text', caller_arn: 'text',
  access_key_id: 'text', source_ip: 'text', user_agent: 'text', outcome: 'text', error_code: 'text', encryption_context_keys: 'jsonb',
};
const INSERTED_COLUMNS = Object.keys(BATCH_TYPES).filter((c) => c !== 'n');
const BATCH_RECORD = Object.entries(BATCH_TYPES).map(([c, t]) => `${c} ${t}`).join(', ');

/**
 * appendChained's statement; $1 is the batch as one JSON array of BatchRow, $2 its records one per line
 * (recordLines), record n on line n, $3 the keys it used (usageJson). The chain steps through the records as an array
 * (one subscript per step) rather than joining the input again at every step of the recursion; the array is
 * MATERIALIZED, or Postgres inlines it and splits the text again at every step. The usage upsert never moves a key's
 * last use back in time (instances' clocks differ), and joins the head so that it locks no usage row before the head
 * is locked: CTEs run in no set order, and an appender holding a usage row while it queued for the head would
 * deadlock with the head's holder.
 */
const APPEND_CHAINED = `
    with recursive
    head as (select seq, hash from audit_chain_head where id = 1 for update),
    input as (select * from jsonb_to_recordset($1::jsonb) as r(${BATCH_RECORD})),
    records as materialized (select string_to_array($2::text, chr(10)) as recs, count(*) as len from input),
    chain (n, chain_seq, hash) as (
      select 0::bigint, seq, hash from head
      union all
      select c.n + 1, c.chain_seq + 1,
        encode(sha256(convert_to('coffer-audit-v1' || chr(10) || (c.chain_seq + 1)::text || chr(10) || c.hash || chr(10) || r.recs[(c.n + 1)::int], 'UTF8')), 'hex')
      from chain c cross join records r where c.n < r.len
    ),
    inserted as (
      insert into audit_events (${INSERTED_COLUMNS.join(', ')}, record, chain_seq, prev_hash, hash)
      select ${INSERTED_COLUMNS.map((c) => `i.${c}`).join(', ')}, r.recs[i.n::int], c.chain_seq, p.hash, c.hash
      from input i join chain c on c.n = i.n join chain p on p.n = i.n - 1 cross join records r
      order by i.n
    ),
    usage as (
      insert into key_last_usage (key_id, operation, time, event_id, request_id)
      select u.key_id, u.operation, u.time, u.event_id, u.request_id
      from jsonb_to_recordset($3::jsonb) as u(key_id uuid, operation text, time timestamptz, event_id uuid, request_id text)
      cross join head
      order by u.key_id
      on conflict (key_id) do update
        set operation = excluded.operation, time = excluded.time, event_id = excluded.event_id, request_id = excluded.request_id
        where key_last_usage.time <= excluded.time
    )
    update audit_chain_head h set seq = last.chain_seq, hash = last.hash
    from (select chain_seq, hash from chain order by n desc limit 1) last
    where h.id = 1
    returning h.seq`;

export class DrizzleAuditRepository implements AuditRepository {
  /**
   * `inTransaction`: the handle is already a transaction, so append needs no transaction of its own.
   * `appender`: outside a transaction, appends go through it (db/audit-batcher.ts: group commit).
   */
  constructor(
    private readonly db: Db,
    private readonly inTransaction = false,
    private readonly appender: AuditAppender | null = null,
  ) {}

  append(event: AuditEvent): Promise<void> {
    if (this.appender) return this.appender.append(event);
    const write = (tx: Db) => appendChained(tx, [event]);
    return guard(() => (this.inTransaction ? write(this.db) : this.db.transaction((tx) => write(tx))), DUPLICATE_EVENT);
  }

  recent(limit: number): Promise<AuditEvent[]> {
    return guard(async () => {
      const rows = await this.db.select().from(auditEvents).orderBy(desc(auditEvents.seq)).limit(limit);
      return rows.map(toEvent);
    });
  }

  head(): Promise<ChainHead> {
    return guard(async () => {
      const [h] = await this.db.select().from(auditChainHead).where(eq(auditChainHead.id, 1));
      if (!h) throw internalError(new Error('audit chain head missing'));
      return { seq: h.seq, hash: h.hash, baseSeq: h.baseSeq, baseHash: h.baseHash };
    });
  }

  chain(afterSeq: number, limit: number): Promise<ChainedEvent[]> {
    return guard(async () => {
      const rows = await this.db.select(chained).from(auditEvents).where(gt(auditEvents.chainSeq, afterSeq)).orderBy(auditEvents.chainSeq).limit(limit);
      return rows.map(toChained);
    });
  }

  insertCheckpoint(c: Checkpoint): Promise<void> {
    return guard(async () => {
      await this.db.insert(auditCheckpoints).values(c);
    });
  }

  lastCheckpoint(): Promise<Checkpoint | null> {
    return guard(async () => {
      const [r] = await this.db.select().from(auditCheckpoints).orderBy(desc(auditCheckpoints.chainSeq), desc(auditCheckpoints.id)).limit(1);
      return r ? { chainSeq: r.chainSeq, hash: r.hash, time: r.time, signature: r.signature, publicKey: r.publicKey } : null;
    });
  }

  lookup(f: AuditLookupFilter, limit: number, beforeSeq: number | null): Promise<ChainedEvent[]> {
    const where: SQL[] = [isNotNull(auditEvents.chainSeq), sql`${auditEvents.callerArn} like ${`arn:aws:iam::${f.accountId}:%`}`];
    if (f.keyArn !== undefined) where.push(or(eq(auditEvents.keyArn, f.keyArn), eq(auditEvents.sourceKeyArn, f.keyArn))!);
    if (f.callerArn !== undefined) where.push(eq(auditEvents.callerArn, f.callerArn));
    if (f.accessKeyId !== undefined) where.push(eq(auditEvents.accessKeyId, f.accessKeyId));
    if (f.eventName !== undefined) where.push(eq(auditEvents.operation, f.eventName));
    if (f.eventId !== undefined) {
      if (!UUID.test(f.eventId)) return Promise.resolve([]);
      where.push(eq(auditEvents.id, f.eventId));
    }
    if (f.start !== undefined) where.push(gte(auditEvents.time, f.start));
    if (f.end !== undefined) where.push(lte(auditEvents.time, f.end));
    if (beforeSeq !== null) where.push(lt(auditEvents.chainSeq, beforeSeq));
    return guard(async () => {
      const rows = await this.db.select(chained).from(auditEvents).where(and(...where)).orderBy(desc(auditEvents.chainSeq)).limit(limit);
      return rows.map(toChained);
    });
  }

  lastSeqBefore(time: Date): Promise<number | null> {
    return guard(async () => {
      const [r] = await this.db.select({ m: max(auditEvents.chainSeq) }).from(auditEvents).where(lt(auditEvents.time, time));
      return r?.m ?? null;
    });
  }

  purge(throughSeq: number): Promise<number> {
    return guard(async () => {
      const r = await this.db.execute(sql`select coffer_audit_purge(${throughSeq}::bigint) as n`);
      const rows = (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { n: string | number }[];
      return Number(rows[0]?.n ?? 0);
    });
  }

  keyLastUse(keyId: string): Promise<{ last: KeyLastUse | null; trackingSince: Date }> {
    return guard(async () => {
      const [tracking] = await this.db.select().from(keyUsageTracking).where(eq(keyUsageTracking.id, 1));
      if (!tracking) throw internalError(new Error('key usage tracking row missing'));
      const [u] = UUID.test(keyId) ? await this.db.select().from(keyLastUsage).where(eq(keyLastUsage.keyId, keyId)) : [];
      return {
        last: u ? { operation: u.operation, time: u.time, eventId: u.eventId, requestId: u.requestId } : null,
        trackingSince: tracking.startedAt,
      };
    });
  }
}
