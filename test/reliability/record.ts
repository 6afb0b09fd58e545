// Per-area counts for the reliability summary: each test file tallies cases, failures and lost items into test-output/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/server.js';

export const OUTPUT_DIR = process.env.RELIABILITY_OUTPUT_DIR ?? join(ROOT, 'test-output', 'reliability');

export interface AreaCounts {
  area: string;
  cases: number;
  failures: number;
  /** Acknowledged items (changes, ciphertexts, audit events) missing afterwards. */
  lost: number;
  /** The first failures, for the summary (never secrets: tests record names and codes only). */
  examples: string[];
  notes: string[];
}

export class Recorder {
  readonly counts: AreaCounts;

  constructor(area: string) {
    this.counts = { area, cases: 0, failures: 0, lost: 0, examples: [], notes: [] };
  }

  /** One case: ok false counts a failure with a short description. */
  check(ok: boolean, what: string): boolean {
    this.counts.cases += 1;
    if (!ok) this.fail(what);
    return ok;
  }

  fail(what: string): void {
    this.counts.failures += 1;
    if (this.counts.examples.length < 10) this.counts.examples.push(what.slice(0, 300));
  }

  lose(n: number, what: string): void {
    this.counts.lost += n;
    if (n > 0 && this.counts.examples.length < 10) this.counts.examples.push(`lost ${n}: ${what}`.slice(0, 300));
  }

  note(text: string): void {
    this.counts.notes.push(text);
  }

  /** Writes test-output/reliability/<area>.json (call in afterAll). */
  save(): void {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const file = this.counts.area.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    writeFileSync(join(OUTPUT_DIR, `${file}.json`), JSON.stringify(this.counts, null, 2) + '\n');
  }
}

/** True when the long soak was asked for (RELIABILITY_SOAK=1): bigger runs, same assertions. */
export const SOAK = process.env.RELIABILITY_SOAK === '1';
