// Rendering answers: aligned tables for people, JSON (dates ISO-8601, bytes base64) for scripts.
import type { Writable } from 'node:stream';

export type Row = Record<string, unknown>;

export function plain(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(plain).join(',');
  if (typeof v === 'object') return JSON.stringify(toJson(v));
  return String(v);
}

/** Dates to ISO strings and bytes to base64, deeply. */
export function toJson(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

export function table(rows: readonly object[], columns: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((r) => columns.map((c) => plain((r as Row)[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd() + '\n';
  return line(columns) + line(widths.map((w) => '-'.repeat(w))) + cells.map(line).join('');
}

export function keyValue(obj: Row): string {
  const entries = Object.entries(obj).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '';
  const w = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(w)}  ${plain(v)}\n`).join('');
}

/** What a command hands back to print: the raw answer for --output json, and how to show it to people. */
export interface View {
  json: unknown;
  text: string;
}

export const listView = (json: unknown, rows: readonly object[], columns: string[]): View => ({ json, text: table(rows, columns) });
export const objectView = (json: unknown, obj: object | undefined): View => ({ json, text: keyValue((obj ?? {}) as Row) });
export const emptyView = (): View => ({ json: {}, text: '' });

export function print(out: Writable, view: View | undefined, mode: 'table' | 'json'): void {
  if (!view) return;
  if (mode === 'json') out.write(JSON.stringify(toJson(view.json), null, 2) + '\n');
  else if (view.text) out.write(view.text);
}
