import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  additionalData, bytesToUuid, decodeCiphertext, encodeCiphertext, encodeHeader, HEADER_BYTES, MAX_CIPHERTEXT_BYTES, uuidToBytes,
} from '../../core/ciphertext.js';

const keyId = randomUUID();
const versionId = randomUUID();
const iv = new Uint8Array(randomBytes(12));
const body = new Uint8Array(randomBytes(32));

describe('ciphertext blob', () => {
  it('round-trips header fields and body', () => {
    const blob = encodeCiphertext(encodeHeader({ keyId, versionId, iv }), body);
    const p = decodeCiphertext(blob);
    expect(p.keyId).toBe(keyId);
    expect(p.versionId).toBe(versionId);
    expect(Buffer.from(p.iv).equals(Buffer.from(iv))).toBe(true);
    expect(Buffer.from(p.body).equals(Buffer.from(body))).toBe(true);
    expect(p.header.length).toBe(HEADER_BYTES);
  });

  it('uuid bytes round-trip', () => {
    expect(bytesToUuid(uuidToBytes(keyId))).toBe(keyId);
    expect(Buffer.from(uuidToBytes('00112233-4455-6677-8899-aabbccddeeff')).toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect(bytesToUuid(Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex')))).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });

  it('uuidToBytes accepts exactly what "32 lower-case hex digits once hyphens are removed" accepts', () => {
    const reference = (u: string) => /^[0-9a-f]{32}$/.test(u.replace(/-/g, ''));
    const near = fc.oneof(
      fc.uuid(),
      fc.uuid().map((u) => u.toUpperCase()),
      fc.uuid().map((u) => u.slice(1)),
      fc.uuid().map((u) => `${u}0`),
      fc.uuid().map((u) => u.replace(/-/g, '')),
      fc.uuid().map((u) => `${u}-`),
      fc.tuple(fc.uuid(), fc.nat(35), fc.string({ minLength: 1, maxLength: 1 })).map(([u, i, c]) => u.slice(0, i) + c + u.slice(i + 1)),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(near, (u) => {
        if (reference(u)) expect(Buffer.from(uuidToBytes(u)).toString('hex')).toBe(u.replace(/-/g, ''));
        else expect(() => uuidToBytes(u)).toThrow(TypeError);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['header only', encodeHeader({ keyId, versionId, iv })],
    ['too long', new Uint8Array(MAX_CIPHERTEXT_BYTES + 1).fill(1)],
  ])('rejects a blob that is %s with InvalidCiphertextException', (_n, blob) => {
    expect(() => decodeCiphertext(blob)).toThrowError(expect.objectContaining({ code: 'InvalidCiphertextException' }));
  });

  it('rejects an unknown format version or algorithm', () => {
    const blob = encodeCiphertext(encodeHeader({ keyId, versionId, iv }), body);
    const v = blob.slice();
    v[0] = 2;
    expect(() => decodeCiphertext(v)).toThrowError(expect.objectContaining({ code: 'InvalidCiphertextException' }));
    const a = blob.slice();
    a[33] = 9;
    expect(() => decodeCiphertext(a)).toThrowError(expect.objectContaining({ code: 'InvalidCiphertextException' }));
  });

  it('binds the header and the context into the AAD', () => {
    const h = encodeHeader({ keyId, versionId, iv });
    const a1 = Buffer.from(additionalData(h, { a: 'bc' })).toString('hex');
    const a2 = Buffer.from(additionalData(h, { ab: 'c' })).toString('hex');
    expect(a1.startsWith(Buffer.from(h).toString('hex'))).toBe(true);
    expect(a1).not.toBe(a2);
  });
});
