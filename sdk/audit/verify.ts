// Independent verification of Coffer's audit trail: recomputes every chain hash from the CloudTrail record and checks
// every checkpoint signature with node:crypto. Deliberately shares no code with core/ (its own canonical form).
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';

export const GENESIS = '0'.repeat(64);

/** One event as exported or read from the database; record is the CloudTrail record or its JSON text. */
export interface ChainEntry {
  chainSeq: number;
  prevHash: string;
  hash: string;
  record: Record<string, unknown> | string;
}

export interface CheckpointEntry {
  chainSeq: number;
  hash: string;
  /** ISO 8601 with milliseconds. */
  time: string;
  /** DER, base64. */
  signature: string;
  /** SubjectPublicKeyInfo DER, base64. */
  publicKey: string;
}

export interface VerifyOptions {
  /** Where the chain starts (after retention: the archive's last event); default: trust the first event's prevHash. */
  base?: { seq: number; hash: string } | undefined;
  /** Pin the audit-signing public key (SPKI DER base64); default: accept the checkpoints' own key, reported back. */
  publicKey?: string | undefined;
}

export interface BrokenLink {
  chainSeq: number;
  eventId: string | null;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  events: number;
  checkpoints: number;
  firstSeq: number | null;
  lastSeq: number | null;
  lastHash: string | null;
  publicKeys: string[];
  broken: BrokenLink | null;
}

/** Sorted-key JSON without whitespace; strings and numbers as JSON.stringify writes them. */
export function canonical(v: unknown): string {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new Error('non-finite number in audit record');
      return JSON.stringify(v);
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) return '[' + v.map((x) => (x === undefined ? 'null' : canonical(x))).join(',') + ']';
      const o = v as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(o).sort()) if (o[k] !== undefined) parts.push(JSON.stringify(k) + ':' + canonical(o[k]));
      return '{' + parts.join(',') + '}';
    }
    default:
      throw new Error(`unexpected ${typeof v} in audit record`);
  }
}

export function eventHash(chainSeq: number, prevHash: string, record: unknown): string {
  return createHash('sha256').update(`coffer-audit-v1\n${chainSeq}\n${prevHash}\n${canonical(record)}`, 'utf8').digest('hex');
}

export function checkpointSignatureValid(c: CheckpointEntry): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(c.publicKey, 'base64'), format: 'der', type: 'spki' });
    const message = Buffer.from(`coffer-audit-checkpoint-v1\n${c.chainSeq}\n${c.hash}\n${c.time}`, 'utf8');
    return verifySignature('sha256', message, key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

function parseRecord(r: Record<string, unknown> | string): Record<string, unknown> | null {
  if (typeof r !== 'string') return r;
  try {
    const v: unknown = JSON.parse(r);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function checkEvent(e: ChainEntry, prev: { seq: number; hash: string } | null): string | null {
  if (prev && e.chainSeq !== prev.seq + 1) {
    return e.chainSeq <= prev.seq ? `out of order: follows event ${prev.seq}` : `events ${prev.seq + 1}..${e.chainSeq - 1} are missing`;
  }
  if (prev && e.prevHash !== prev.hash) return 'its predecessor hash does not match the previous event';
  const record = parseRecord(e.record);
  if (!record) return 'its record is not a JSON object';
  if (eventHash(e.chainSeq, e.prevHash, record) !== e.hash) return 'its hash does not match its content (altered)';
  return null;
}

const eventIdOf = (e: ChainEntry): string | null => {
  const id = parseRecord(e.record)?.eventID;
  return typeof id === 'string' ? id : null;
};

/** Checks the chain in order, then every checkpoint; stops at the first broken link. */
export async function verifyChain(
  events: AsyncIterable<ChainEntry> | Iterable<ChainEntry>,
  checkpoints: CheckpointEntry[],
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const wanted = new Set(checkpoints.map((c) => c.chainSeq));
  const seen = new Map<number, string>();
  const report: VerifyReport = { ok: true, events: 0, checkpoints: 0, firstSeq: null, lastSeq: null, lastHash: null, publicKeys: [], broken: null };
  let prev = options.base ?? null;
  const fail = (b: BrokenLink) => ({ ...report, ok: false, broken: b });
  for await (const e of events) {
    const reason = checkEvent(e, prev);
    if (reason) return fail({ chainSeq: e.chainSeq, eventId: eventIdOf(e), reason });
    report.events += 1;
    report.firstSeq ??= e.chainSeq;
    if (wanted.has(e.chainSeq)) seen.set(e.chainSeq, e.hash);
    prev = { seq: e.chainSeq, hash: e.hash };
  }
  report.lastSeq = prev?.seq ?? null;
  report.lastHash = prev?.hash ?? null;
  for (const c of [...checkpoints].sort((a, b) => a.chainSeq - b.chainSeq)) {
    const broken = checkCheckpoint(c, seen, report, options);
    if (broken) return fail(broken);
    report.checkpoints += 1;
    if (!report.publicKeys.includes(c.publicKey)) report.publicKeys.push(c.publicKey);
  }
  return report;
}

function checkCheckpoint(c: CheckpointEntry, seen: Map<number, string>, r: VerifyReport, o: VerifyOptions): BrokenLink | null {
  const at = (reason: string): BrokenLink => ({ chainSeq: c.chainSeq, eventId: null, reason: `checkpoint ${c.chainSeq}: ${reason}` });
  if (o.publicKey !== undefined && c.publicKey !== o.publicKey) return at('signed by another key than the pinned one');
  if (!checkpointSignatureValid(c)) return at('bad signature');
  const start = r.firstSeq ?? (o.base ? o.base.seq + 1 : Infinity);
  if (c.chainSeq < start) return null; // before this export or archive: nothing to compare
  if (r.lastSeq === null || c.chainSeq > r.lastSeq) return at(`signed events up to ${c.chainSeq}, but the chain ends at ${r.lastSeq ?? 'nothing'} (events removed)`);
  if (seen.get(c.chainSeq) !== c.hash) return at('the signed hash differs from the chain (events rewritten)');
  return null;
}

/** One line naming the first broken link, or a summary. */
export function describeReport(r: VerifyReport): string {
  if (r.broken) return `BROKEN at event ${r.broken.chainSeq}${r.broken.eventId ? ` (eventID ${r.broken.eventId})` : ''}: ${r.broken.reason}`;
  return `OK: ${r.events} events (${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}), ${r.checkpoints} checkpoint signatures verified`;
}
