// The bench's stall counting (scripts/bench/steal.ts) over made-up /proc/stat steal readings, 10-ms ticks each.
import { describe, expect, it } from 'vitest';
import { StealCounter } from '../../scripts/bench/steal.js';

describe('StealCounter', () => {
  it('a vCPU that loses a whole 20-ms sample or more stalls; consecutive such samples are one stall, timed from its first', () => {
    const c = new StealCounter([100, 500]);
    c.add([101, 500], 20); // 10 ms on vCPU 0: steal, no stall
    c.add([103, 500], 40); // 20 ms: a stall begins (sample 20-40)
    c.add([106, 502], 60); // 30 ms more on vCPU 0 (same stall), 20 ms on vCPU 1 (its own)
    c.add([106, 502], 80); // both run again
    c.add([108, 502], 100); // vCPU 0 stalls again: a new stall
    expect(c.report).toEqual({
      totalMs: 10 + 20 + 30 + 20 + 20,
      stalls: 3,
      longestMs: 50,
      at: [[20, 0, 50], [40, 1, 20], [80, 0, 20]],
    });
  });

  it('lists the first 20 stalls and still counts the rest and their length', () => {
    const c = new StealCounter([0]);
    let ticks = 0;
    for (let i = 1; i <= 50; i += 1) {
      ticks += i % 2 === 1 ? 2 : 0; // a 20-ms stall every other sample
      c.add([ticks], i * 20);
    }
    ticks += 9;
    c.add([ticks], 51 * 20); // the 26th stall, 90 ms long
    expect(c.report.stalls).toBe(26);
    expect(c.report.at).toHaveLength(20);
    expect(c.report.longestMs).toBe(90);
  });
});
