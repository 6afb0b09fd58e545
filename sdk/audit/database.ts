// Reads the audit chain straight from Postgres (postgres.js, plain SQL) for `coffer audit verify` and `export`.
import postgres from 'postgres';
import type { ExportSource } from './export.js';
import type { ChainEntry, CheckpointEntry } from './verify.js';

const BATCH = 1000;

export interface AuditDatabase {
  /** The chain's base (moved by retention) and the export source for a chain range. */
  base(): Promise<{ seq: number; hash: string }>;
  /** Chain positions of the events in [since, until); null when none. */
  range(since: Date | null, until: Date | null): Promise<{ from: number; to: number } | null>;
  source(range: { from: number; to: number } | null, base: { seq: number; hash: string } | null): ExportSource;
  close(): Promise<void>;
}

export function openAuditDatabase(url: string): AuditDatabase {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  async function* events(from: number, to: number): AsyncIterable<ChainEntry> {
    let after = from - 1;
    for (;;) {
      const rows = await sql`select chain_seq, prev_hash, hash, record from audit_events
        where chain_seq > ${after} and chain_seq <= ${to} order by chain_seq limit ${BATCH}`;
      for (const r of rows) yield { chainSeq: Number(r.chain_seq), prevHash: r.prev_hash as string, hash: r.hash as string, record: r.record as string };
      if (rows.length < BATCH) return;
      after = Number(rows[rows.length - 1]?.chain_seq);
    }
  }
  const checkpoints = async (): Promise<CheckpointEntry[]> => {
    const rows = await sql`select chain_seq, hash, time, signature, public_key from audit_checkpoints order by chain_seq, id`;
    return rows.map((r) => ({ chainSeq: Number(r.chain_seq), hash: r.hash, time: (r.time as Date).toISOString(), signature: r.signature, publicKey: r.public_key }));
  };
  return {
    base: async () => {
      const [h] = await sql`select base_seq, base_hash from audit_chain_head where id = 1`;
      return h ? { seq: Number(h.base_seq), hash: h.base_hash as string } : { seq: 0, hash: '0'.repeat(64) };
    },
    range: async (since, until) => {
      const [r] = await sql`select min(chain_seq) as lo, max(chain_seq) as hi from audit_events
        where chain_seq is not null and (${since}::timestamptz is null or time >= ${since}) and (${until}::timestamptz is null or time < ${until})`;
      return r && r.lo !== null ? { from: Number(r.lo), to: Number(r.hi) } : null;
    },
    source: (range, base) => ({
      base,
      events: () => (range ? events(range.from, range.to) : (async function* () {})()),
      checkpoints,
    }),
    close: () => sql.end({ timeout: 5 }),
  };
}
