// Unit: the headers SigV4 reads, taken from node's raw header list, match what a fetch Headers holds.
import { describe, expect, it } from 'vitest';
import { headersFromRaw } from '../../server/protocol/dispatch.js';

function viaHeaders(raw: string[]): Record<string, string> {
  const h = new Headers();
  for (let i = 0; i < raw.length; i += 2) h.append(raw[i] as string, raw[i + 1] as string);
  return Object.fromEntries(h.entries());
}

describe('headersFromRaw', () => {
  it('lowercases names, strips surrounding whitespace and joins repeated headers as fetch Headers does', () => {
    const raw = [
      'Host', 'localhost:4566', 'X-Amz-Date', ' 20261129T220000Z\t', 'X-Amz-Meta', 'a', 'x-amz-meta', ' b  c ',
      'Content-Type', 'application/x-amz-json-1.1', 'Authorization', 'AWS4-HMAC-SHA256 Credential=x', 'X-Empty', '',
    ];
    const ours = headersFromRaw(raw);
    expect({ ...ours }).toEqual(viaHeaders(raw));
    expect(ours['x-amz-meta']).toBe('a, b  c');
  });

  it('leaves out HTTP/2 pseudo-headers and holds names such as __proto__ as plain entries', () => {
    const ours = headersFromRaw([':authority', 'h', '__proto__', 'x', 'constructor', 'y']);
    expect(Object.keys(ours)).toEqual(['__proto__', 'constructor']);
    expect(ours.__proto__).toBe('x');
    expect(Object.getPrototypeOf(ours)).toBeNull();
  });
});
