import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalizeContext, MAX_CANONICAL_CONTEXT_BYTES } from '../../core/encryption-context.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('canonicalizeContext', () => {
  it('is not a plain concatenation: {"ab":"c"} and {"a":"bc"} differ', () => {
    expect(hex(canonicalizeContext({ ab: 'c' }))).not.toBe(hex(canonicalizeContext({ a: 'bc' })));
  });

  it('does not depend on the order entries were given in', () => {
    expect(hex(canonicalizeContext({ b: '2', a: '1' }))).toBe(hex(canonicalizeContext({ a: '1', b: '2' })));
  });

  it('sorts by the UTF-8 bytes of the key', () => {
    // 'Z' (0x5a) sorts before 'a' (0x61), and 'é' (0xc3 0xa9) after both.
    const bytes = canonicalizeContext({ é: '', a: '', Z: '' });
    expect(hex(bytes)).toBe('00000003' + '000000015a00000000' + '000000016100000000' + '00000002c3a900000000');
  });

  it('encodes an absent and an empty context alike, as count 0', () => {
    expect(hex(canonicalizeContext(undefined))).toBe('00000000');
    expect(hex(canonicalizeContext({}))).toBe('00000000');
  });

  it('rejects a context whose canonical form exceeds the limit with ValidationException', () => {
    expect(() => canonicalizeContext({ k: 'x'.repeat(MAX_CANONICAL_CONTEXT_BYTES) })).toThrowError(
      expect.objectContaining({ code: 'ValidationException' }),
    );
  });

  it('is injective over random contexts (property)', () => {
    const ctx = fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 4 });
    fc.assert(
      fc.property(ctx, ctx, (a, b) => {
        const same = JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
        expect(hex(canonicalizeContext(a)) === hex(canonicalizeContext(b))).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });
});
