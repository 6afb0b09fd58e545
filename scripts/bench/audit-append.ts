// `tsx scripts/bench/audit-append.ts [batch sizes]`: what one audited event costs Postgres in the group-commit
// statement (db/repos/audit.ts appendChained), batches of N appended one after another on a fresh database; the
// Postgres backends' CPU time from /proc (Linux), so it holds on a busy machine better than wall time does.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { AuditEvent } from '../../core/audit.js';
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

const event = (): AuditEvent => ({
  id: randomUUID(), time: new Date(), requestId: randomUUID(), operation: 'Encrypt',
  keyArn: `arn:aws:kms:us-east-1:000000000000:key/${randomUUID()}`, callerArn: 'arn:aws:iam::000000000000:user/admin',
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
    for (const n of sizes) {
      const batches = Math.max(20, Math.round(12_000 / n));
      for (let i = 0; i < 5; i++) await appendChained(database.db, Array.from({ length: n }, event)); // warm
      const t0 = backendTicks(name);
      const w0 = performance.now();
      for (let i = 0; i < batches; i++) await appendChained(database.db, Array.from({ length: n }, event));
      const ms = performance.now() - w0;
      const cpu = (backendTicks(name) - t0) * 10;
      process.stdout.write(`batch ${n}: ${batches} batches, Postgres CPU ${(cpu / (batches * n)).toFixed(3)} ms/event, wall ${(ms / batches).toFixed(2)} ms/batch\n`);
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
