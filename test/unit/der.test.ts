// The ECDSA signature converter takes strict DER only: what AWS's Verify would refuse must not reach the token.
import { describe, expect, it } from 'vitest';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../../hsm/der.js';

const raw = Buffer.concat([Buffer.alloc(32, 0x11), Buffer.alloc(32, 0x22)]);
const der = ecdsaRawToDer(raw);
const int = (hex: string) => `02${(hex.length / 2).toString(16).padStart(2, '0')}${hex}`;

describe('ecdsaDerToRaw', () => {
  it('round-trips what ecdsaRawToDer writes', () => {
    expect(ecdsaDerToRaw(der, 32)).toEqual(raw);
  });

  it('refuses a long-form length with a leading zero byte (Wycheproof P-521 tcId 7)', () => {
    // P-521: the sequence is longer than 127 bytes, so DER writes 30 81 LL; 30 82 00 LL is BER.
    const raw521 = Buffer.concat([Buffer.alloc(66, 0x01), Buffer.alloc(66, 0x02)]);
    const body = ecdsaRawToDer(raw521).subarray(3);
    expect(ecdsaDerToRaw(Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]), 66)).toEqual(raw521);
    expect(ecdsaDerToRaw(Buffer.concat([Buffer.from([0x30, 0x82, 0x00, body.length]), body]), 66)).toBeNull();
  });

  it('refuses an INTEGER with a zero byte DER would not write, accepts the one it must write', () => {
    const r = '11'.repeat(32);
    const s = '22'.repeat(32);
    const padded = Buffer.from(`30${(2 + 33 + 2 + 32).toString(16)}${int(`00${r}`)}${int(s)}`, 'hex');
    expect(ecdsaDerToRaw(padded, 32)).toBeNull();
    const high = 'ff'.repeat(32);
    const needed = Buffer.from(`30${(2 + 33 + 2 + 32).toString(16)}${int(`00${high}`)}${int(s)}`, 'hex');
    expect(ecdsaDerToRaw(needed, 32)?.subarray(0, 32)).toEqual(Buffer.from(high, 'hex'));
  });
});
