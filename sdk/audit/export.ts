// Audit export: streams chained events and checkpoints as CloudTrail JSON ({"Records":[...]} plus Coffer's chain
// links) or as JSON lines, and reads either back for verification.
import { readFile } from 'node:fs/promises';
import type { ChainEntry, CheckpointEntry } from './verify.js';

export type ExportFormat = 'cloudtrail' | 'jsonl';

export interface ExportSource {
  /** Where the exported chain starts: the predecessor of its first event. */
  base: { seq: number; hash: string } | null;
  /** Events in chain order. */
  events(): AsyncIterable<ChainEntry>;
  checkpoints(): Promise<CheckpointEntry[]>;
}

export interface ExportSink {
  write(chunk: string): Promise<void> | void;
}

export interface ExportProgress {
  (written: number): void;
}

const recordOf = (e: ChainEntry): Record<string, unknown> => (typeof e.record === 'string' ? (JSON.parse(e.record) as Record<string, unknown>) : e.record);
const link = (e: ChainEntry) => ({ chainSeq: e.chainSeq, prevHash: e.prevHash, hash: e.hash });

/** JSON lines: a header, one {"type":"event"} line per event, then one {"type":"checkpoint"} line per checkpoint. */
async function writeJsonl(src: ExportSource, out: ExportSink, progress: ExportProgress): Promise<number> {
  await out.write(JSON.stringify({ type: 'header', format: 'coffer-audit-v1', base: src.base }) + '\n');
  let n = 0;
  for await (const e of src.events()) {
    await out.write(JSON.stringify({ type: 'event', ...link(e), record: recordOf(e) }) + '\n');
    progress(++n);
  }
  for (const c of await src.checkpoints()) await out.write(JSON.stringify({ type: 'checkpoint', ...c }) + '\n');
  return n;
}

/** CloudTrail's file shape; the chain links ride alongside in CofferChain (Records[i] is links[i]). Two passes. */
async function writeCloudTrail(src: ExportSource, out: ExportSink, progress: ExportProgress): Promise<number> {
  await out.write('{"Records":[');
  let n = 0;
  for await (const e of src.events()) {
    await out.write((n > 0 ? ',\n' : '\n') + JSON.stringify(recordOf(e)));
    progress(++n);
  }
  await out.write(`\n],"CofferChain":{"format":"coffer-audit-v1","base":${JSON.stringify(src.base)},"links":[`);
  let i = 0;
  for await (const e of src.events()) await out.write((i++ > 0 ? ',' : '') + JSON.stringify(link(e)));
  await out.write(`],"checkpoints":${JSON.stringify(await src.checkpoints())}}}\n`);
  return n;
}

export function writeExport(format: ExportFormat, src: ExportSource, out: ExportSink, progress: ExportProgress = () => {}): Promise<number> {
  return format === 'jsonl' ? writeJsonl(src, out, progress) : writeCloudTrail(src, out, progress);
}

export interface ExportFile {
  base: { seq: number; hash: string } | null;
  events: ChainEntry[];
  checkpoints: CheckpointEntry[];
}

function parseJsonl(text: string): ExportFile {
  const file: ExportFile = { base: null, events: [], checkpoints: [] };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line) as { type?: string } & Record<string, unknown>;
    if (o.type === 'header') file.base = (o.base as ExportFile['base']) ?? null;
    else if (o.type === 'event') file.events.push(o as unknown as ChainEntry);
    else if (o.type === 'checkpoint') file.checkpoints.push(o as unknown as CheckpointEntry);
  }
  return file;
}

function parseCloudTrail(text: string): ExportFile {
  const o = JSON.parse(text) as { Records?: Record<string, unknown>[]; CofferChain?: { base?: ExportFile['base']; links?: Omit<ChainEntry, 'record'>[]; checkpoints?: CheckpointEntry[] } };
  const records = o.Records ?? [];
  const links = o.CofferChain?.links ?? [];
  if (links.length !== records.length) throw new Error(`the file has ${records.length} records but ${links.length} chain links`);
  return {
    base: o.CofferChain?.base ?? null,
    events: records.map((record, i) => ({ ...(links[i] as Omit<ChainEntry, 'record'>), record })),
    checkpoints: o.CofferChain?.checkpoints ?? [],
  };
}

/** Reads an export of either format (a JSON lines file starts with its header line). */
export async function readExport(path: string): Promise<ExportFile> {
  const text = await readFile(path, 'utf8');
  return text.startsWith('{"type":"header"') ? parseJsonl(text) : parseCloudTrail(text);
}
