// Prints the reliability summary table from test-output/reliability/*.json; exits 1 on any failure or lost item.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface AreaCounts {
  area: string;
  cases: number;
  failures: number;
  lost: number;
  examples: string[];
  notes: string[];
}

const dir = process.env.RELIABILITY_OUTPUT_DIR ?? resolve(import.meta.dirname, '..', 'test-output', 'reliability');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
const rows = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as AreaCounts);

const header = ['area', 'cases tried', 'failures', 'acknowledged items lost'];
const table = [header, ...rows.map((r) => [r.area, String(r.cases), String(r.failures), String(r.lost)])];
const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
const line = (row: string[]) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const row of table.slice(1)) console.log(line(row));
const total = rows.reduce((a, r) => ({ cases: a.cases + r.cases, failures: a.failures + r.failures, lost: a.lost + r.lost }), { cases: 0, failures: 0, lost: 0 });
console.log(line(['total', String(total.cases), String(total.failures), String(total.lost)]));
for (const r of rows) {
  for (const n of r.notes) console.log(`note (${r.area}): ${n}`);
  for (const e of r.examples) console.log(`FAILED (${r.area}): ${e}`);
}
if (rows.length === 0) {
  console.error('No reliability results found: did the tests run?');
  process.exit(1);
}
process.exit(total.failures > 0 || total.lost > 0 ? 1 : 0);
