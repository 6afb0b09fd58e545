// core/event-id.ts: audit event ids are UUIDs of version 7, so that they reach audit_events' unique index in time order.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventIdsFrom, UUID_V7_RANDOM_BYTES, uuidV7 } from '../../core/event-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('uuidV7', () => {
  it("reproduces RFC 9562's example (Appendix A.6)", () => {
    // unix_ts_ms 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F (the variant's two bits are ours).
    const random = Uint8Array.from([0x0c, 0xc3, 0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f]);
    expect(uuidV7(0x017f22e279b0, random)).toBe('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
  });

  it('sets the version and variant bits whatever the random bytes hold', () => {
    expect(uuidV7(0, new Uint8Array(10).fill(0xff))).toBe('00000000-0000-7fff-bfff-ffffffffffff');
    expect(uuidV7(0, new Uint8Array(10))).toBe('00000000-0000-7000-8000-000000000000');
  });

  it('begins with the time, all 48 bits of it', () => {
    for (const ms of [0, 1, 2 ** 16 - 1, 2 ** 16, 2 ** 32 + 5, Date.UTC(2026, 11, 1), 2 ** 48 - 1]) {
      const id = uuidV7(ms, randomBytes(UUID_V7_RANDOM_BYTES));
      expect(id).toMatch(V7);
      expect(timeOf(id)).toBe(ms);
    }
  });

  it('sorts later times after earlier ones, as text and as Postgres compares uuids (bytewise)', () => {
    const times = [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, Date.UTC(2026, 0, 1) + 256, Date.UTC(2026, 0, 1) + 65_536, Date.UTC(2027, 0, 1)];
    const ids = times.map((t) => uuidV7(t, randomBytes(UUID_V7_RANDOM_BYTES)));
    expect([...ids].sort()).toEqual(ids);
  });

  it('refuses a time that does not fit 48 bits and too few random bytes', () => {
    for (const bad of [-1, 2 ** 48, 1.5, Number.NaN]) expect(() => uuidV7(bad, new Uint8Array(10))).toThrow(RangeError);
    expect(() => uuidV7(0, new Uint8Array(9))).toThrow(RangeError);
  });
});

describe('eventIdsFrom', () => {
  it('gives each id its own random bytes, drawn for many ids at once', () => {
    const draws: number[] = [];
    let counter = 0;
    // A source whose every byte differs from the last, so two ids sharing bytes would show.
    const source = (n: number) => {
      draws.push(n);
      return Uint8Array.from({ length: n }, () => counter++ & 0xff);
    };
    const next = eventIdsFrom(source);
    const ids = Array.from({ length: 300 }, () => next(new Date(0)));
    expect(draws).toEqual([UUID_V7_RANDOM_BYTES * 128, UUID_V7_RANDOM_BYTES * 128, UUID_V7_RANDOM_BYTES * 128]);
    expect(ids[0]).toBe('00000000-0000-7001-8203-040506070809');
    expect(ids[1]).toBe('00000000-0000-7a0b-8c0d-0e0f10111213');
    expect(ids[128]).toBe(uuidV7(0, Uint8Array.from({ length: 10 }, (_, i) => (1280 + i) & 0xff)));
  });

  it("takes the event's time and fresh random bytes for each id", () => {
    const next = eventIdsFrom(randomBytes);
    const time = new Date(Date.UTC(2026, 11, 1, 9, 30));
    const ids = Array.from({ length: 1000 }, () => next(time));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(timeOf(id)).toBe(time.getTime());
  });
});
