// `coffer audit verify|export`: checks the audit chain and checkpoint signatures, or streams events out.
import { createWriteStream, type WriteStream } from 'node:fs';
import { openAuditDatabase } from '../audit/database.js';
import { readExport, writeExport, type ExportFormat, type ExportSink } from '../audit/export.js';
import { describeReport, verifyChain, type VerifyReport } from '../audit/verify.js';

export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env?: Record<string, string | undefined>;
}

const USAGE = `usage:
  coffer audit verify [--database-url URL | --file F] [--public-key BASE64_SPKI]
  coffer audit export [--database-url URL] [--since T] [--until T] [--format cloudtrail|jsonl] [--out F]
DATABASE_URL is used when --database-url is absent.
`;

class UsageError extends Error {}

function parseFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i] as string;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else {
      const v = args[i + 1];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags.set(a.slice(2), v);
      i += 1;
    }
  }
  return flags;
}

function dateFlag(flags: Map<string, string>, name: string): Date | null {
  const v = flags.get(name);
  if (v === undefined) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name}: not a date: ${v}`);
  return d;
}

function databaseUrl(flags: Map<string, string>, io: CliIo): string {
  const url = flags.get('database-url') ?? (io.env ?? process.env).DATABASE_URL;
  if (!url) throw new UsageError('give --database-url (or DATABASE_URL) or --file');
  return url;
}

async function verify(flags: Map<string, string>, io: CliIo): Promise<number> {
  const publicKey = flags.get('public-key');
  let report: VerifyReport;
  const file = flags.get('file');
  if (file !== undefined) {
    const f = await readExport(file);
    report = await verifyChain(f.events, f.checkpoints, { base: f.base ?? undefined, publicKey });
  } else {
    const db = openAuditDatabase(databaseUrl(flags, io));
    try {
      // Checkpoints first: servers keep appending, and a checkpoint read after the range would lie beyond it.
      const base = await db.base();
      const checkpoints = await db.source(null, base).checkpoints();
      const src = db.source(await db.range(null, null), base);
      report = await verifyChain(src.events(), checkpoints, { base, publicKey });
    } finally {
      await db.close();
    }
  }
  (report.ok ? io.stdout : io.stderr).write(describeReport(report) + '\n');
  if (report.ok && report.publicKeys.length > 0) io.stdout.write(`checkpoint key(s): ${report.publicKeys.join(', ')}\n`);
  return report.ok ? 0 : 1;
}

function fileSink(path: string): ExportSink & { end(): Promise<void> } {
  const stream: WriteStream = createWriteStream(path, { mode: 0o600 });
  return {
    write: (s) => (stream.write(s) ? undefined : new Promise<void>((r) => stream.once('drain', () => r()))),
    end: () => new Promise<void>((r, j) => stream.end((e?: Error | null) => (e ? j(e) : r()))),
  };
}

async function exportEvents(flags: Map<string, string>, io: CliIo): Promise<number> {
  const format = (flags.get('format') ?? 'cloudtrail') as ExportFormat;
  if (format !== 'cloudtrail' && format !== 'jsonl') throw new UsageError('--format must be cloudtrail or jsonl');
  const since = dateFlag(flags, 'since');
  const until = dateFlag(flags, 'until');
  const db = openAuditDatabase(databaseUrl(flags, io));
  const out = flags.get('out');
  const sink = out !== undefined ? fileSink(out) : { write: (s: string) => void io.stdout.write(s), end: async () => {} };
  try {
    const range = await db.range(since, until);
    const base = since === null && until === null ? await db.base() : null;
    const n = await writeExport(format, db.source(range, base), sink, (k) => {
      if (k % 1000 === 0) io.stderr.write(`\rexported ${k} events`);
    });
    io.stderr.write(`\rexported ${n} events${range ? ` (chain ${range.from}..${range.to})` : ''}\n`);
    return 0;
  } finally {
    await sink.end();
    await db.close();
  }
}

/** Runs `coffer audit <verify|export> ...`; returns the exit code. */
export async function runAudit(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const flags = parseFlags(rest);
    if (command === 'verify') return await verify(flags, io);
    if (command === 'export') return await exportEvents(flags, io);
    throw new UsageError(command ? `unknown audit command ${command}` : 'missing audit command');
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message}\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`coffer audit: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
