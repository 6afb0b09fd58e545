// `tsx scripts/bench/audit-append.ts [batch sizes]`: what one audited event costs Postgres in the group-commit
// statement (db/repos/audit.ts appendChained), batches of N appended one after another on a fresh database; the
// Postgres backends' CPU time from /proc (Linux), so it holds on a busy machine better than wall time does.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { AuditEvent } from '../../core/audit.js';
import { UUID_V7_RANDOM_BYTES, uuidV7 } from '../../core/event-id.js';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../db/client.js';
import { migrate } from '../../db/migrate.js';
import { appendChained } from '../../db/repos/audit.js';
import { freshDatabase } from './processes.js';

function backendTicks(database: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(` ${database} `)) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks;
}

// EVENT_ID=v4: random event ids, as before the tenth session; otherwise version 7, as the server makes them.
const eventId = process.env.EVENT_ID === 'v4' ? randomUUID : () => uuidV7(Date.now(), randomBytes(UUID_V7_RANDOM_BYTES));

// KEYS=N: the events name N keys in turn (the bench's Encrypt uses 10); unset, a new key each event, as before.
const keys = Array.from({ length: Number(process.env.KEYS ?? 0) }, () => randomUUID());
let turn = 0;
const keyId = () => (keys.length > 0 ? (keys[turn++ % keys.length] as string) : randomUUID());

const event = (): AuditEvent => ({
  id: eventId(), time: new Date(), requestId: randomUUID(), operation: 'Encrypt',
  keyArn: `arn:aws:kms:us-east-1:000000000000:key/${keyId()}`, callerArn: 'arn:aws:iam::000000000000:user/admin',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE', sourceIp: '127.0.0.1', userAgent: 'bench', outcome: 'Success', errorCode: null,
  encryptionContextKeys: [],
});

async function main(): Promise<void> {
  const sizes = (process.argv[2] ?? '1,20,60,200').split(',').map(Number);
  const db = await freshDatabase();
  if (!db.url) throw new Error('needs the local Postgres');
  const name = new URL(db.url).pathname.slice(1);
  if (process.env.EXPLAIN) {
    // Each statement's plan with actual times in the server log (auto_explain; needs a superuser).
    const { default: postgres } = await import('postgres');
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`alter database ${name} set session_preload_libraries = 'auto_explain'`);
    await admin.unsafe(`alter database ${name} set auto_explain.log_min_duration = 0`);
    await admin.unsafe(`alter database ${name} set auto_explain.log_analyze = on`);
    await admin.end();
  }
  // PG_SET='name=value,...': an experiment, database-level settings (e.g. plan_cache_mode=force_generic_plan).
  const settings = (process.env.PG_SET ?? '').split(',').filter(Boolean).map((kv) => kv.split('='));
  if (settings.length > 0) {
    const { default: postgres } = await import('postgres');
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    for (const [k, v] of settings) await admin.unsafe(`alter database ${name} set ${(k ?? '').replace(/[^a-z_.]/g, '')} = '${(v ?? '').replace(/[^a-z_0-9]/g, '')}'`);
    await admin.end();
  }
  const database = await openDatabase({ url: db.url });
  try {
    await migrate(database);
    // DROP_INDEXES=a,b: an experiment, what each secondary index of audit_events costs an append.
    for (const index of (process.env.DROP_INDEXES ?? '').split(',').filter(Boolean)) {
      await database.db.execute(sql.raw(`drop index if exists ${index.replace(/[^a-z_]/g, '')}`));
    }
    // AFTER_MIGRATE='sql; sql': an experiment, statements run on the fresh schema before the batches (e.g. storage options).
    for (const statement of (process.env.AFTER_MIGRATE ?? '').split(';').map((x) => x.trim()).filter(Boolean)) {
      await database.db.execute(sql.raw(statement));
    }
    // PREFILL=N: N older events first (ids as EVENT_ID says, times before now), so the indexes hold a log's worth.
    const prefill = Number(process.env.PREFILL ?? 0);
    if (prefill > 0) {
      const id = process.env.EVENT_ID === 'v4' ? 'gen_random_uuid()' : `('00000000-' || lpad(to_hex(g >> 48), 4, '0') || '-7000-8000-' || lpad(to_hex(g & 281474976710655), 12, '0'))::uuid`;
      await database.db.execute(sql.raw(`insert into audit_events (id, time, request_id, operation, key_arn, caller_arn, outcome, encryption_context_keys)
        select ${id}, now() - interval '1 day', 'prefill', 'Encrypt', 'arn:aws:kms:us-east-1:000000000000:key/' || (g % 10), 'arn:aws:iam::000000000000:user/admin', 'Success', '[]'
        from generate_series(1, ${prefill}) g`));
      await database.db.execute(sql.raw('vacuum analyze audit_events'));
    }
    for (const n of sizes) {
      const batches = Math.max(20, Math.round(Number(process.env.EVENTS ?? 12_000) / n));
      for (let i = 0; i < 5; i++) await appendChained(database.db, Array.from({ length: n }, event)); // warm
      // CHECKPOINT=1: start each size just after a checkpoint, when every page's first change writes it whole to the WAL.
      if (process.env.CHECKPOINT === '1') await database.db.execute(sql.raw('checkpoint'));
      const walAt = async () => ((await database.db.execute(sql.raw('select pg_current_wal_lsn()::text as lsn'))) as unknown as { lsn: string }[])[0]?.lsn ?? '0/0';
      const lsn = (t: string) => t.split('/').reduce((a, h) => a * 2 ** 32 + parseInt(h, 16), 0);
      const wal0 = lsn(await walAt());
      const t0 = backendTicks(name);
      const w0 = performance.now();
      for (let i = 0; i < batches; i++) await appendChained(database.db, Array.from({ length: n }, event));
      const ms = performance.now() - w0;
      const cpu = (backendTicks(name) - t0) * 10;
      const walPerEvent = (lsn(await walAt()) - wal0) / (batches * n);
      const [size] = (await database.db.execute(sql.raw(`select pg_relation_size('audit_events') as heap, pg_total_relation_size('audit_events') as total, count(*) as n, avg(pg_column_size(record)) as rec from audit_events`))) as unknown as { heap: string; total: string; n: string; rec: string }[];
      const perRow = (b: string | undefined) => (Number(b) / Number(size?.n)).toFixed(0);
      process.stdout.write(`batch ${n}: ${batches} batches, Postgres CPU ${(cpu / (batches * n)).toFixed(3)} ms/event, wall ${(ms / batches).toFixed(2)} ms/batch, WAL ${walPerEvent.toFixed(0)} bytes/event; bytes a row: heap ${perRow(size?.heap)}, with indexes ${perRow(size?.total)}, record stored ${Number(size?.rec).toFixed(0)}\n`);
    }
  } finally {
    await database.close();
    await db.drop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
