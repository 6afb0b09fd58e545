import { describe, expect, it } from 'vitest';
import { KmsError } from '../../core/errors.js';
import { ERROR_CODES } from '../../core/errors.js';
import { HTTP_STATUS } from '../../server/protocol/errors.js';
import { validateRequest } from '../../server/protocol/validate.js';
import { kmsRequests } from '../../sdk/contract/kms.js';

function error(schema: keyof typeof kmsRequests, body: unknown): KmsError {
  try {
    validateRequest(kmsRequests[schema], body);
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('expected a validation error');
}

describe('request validation in AWS wording', () => {
  it('a missing required member is "Member must not be null"', () => {
    expect(error('Encrypt', { Plaintext: 'AA==' }).message).toBe(
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
  });

  it('counts several violations', () => {
    const e = error('ListKeys', { Limit: 0, Marker: '' });
    expect(e.code).toBe('ValidationException');
    expect(e.message).toMatch(/^2 validation errors detected: /);
  });

  it('never echoes a sensitive value', () => {
    const secret = Buffer.from('x'.repeat(4097)).toString('base64');
    const e = error('Encrypt', { KeyId: 'k', Plaintext: secret });
    expect(e.message).toContain("at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
    expect(e.message).not.toContain(secret.slice(0, 20));
    const ctx = error('Encrypt', { KeyId: 'k', Plaintext: 'AA==', EncryptionContext: { a: 5 } });
    expect(ctx.message).not.toContain('5');
  });

  it('a wrong type is SerializationException, bad base64 too', () => {
    expect(error('ListKeys', { Limit: 'ten' }).code).toBe('SerializationException');
    expect(error('Decrypt', { CiphertextBlob: '%%%' }).code).toBe('SerializationException');
  });

  it('an enum outside its set names the set', () => {
    expect(error('CreateKey', { KeyUsage: 'FLY' }).message).toContain('Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT');
  });

  it('every domain error has an HTTP status, 4xx for client faults and 5xx for server faults', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const status = HTTP_STATUS[code as keyof typeof HTTP_STATUS];
      expect(status, code).toBeGreaterThanOrEqual(info.fault === 'client' ? 400 : 500);
      expect(status, code).toBeLessThan(info.fault === 'client' ? 500 : 600);
    }
  });
});

describe('the NUL character, which Postgres cannot store', () => {
  it('is refused in any member value or map key with ValidationException naming where', () => {
    expect(error('CreateKey', { Description: 'a\u0000b' }).message).toBe(
      "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must not contain the NUL character",
    );
    expect(error('Encrypt', { KeyId: 'k', Plaintext: 'AA==', EncryptionContext: { 'x\u0000': 'v' } }).message).toContain("'encryptionContext.x\u0000'");
    expect(error('TagResource', { KeyId: 'k', Tags: [{ TagKey: 'k', TagValue: '\u0000' }] }).message).toContain("'tags.1.tagValue'");
  });
});

describe('timestamps', () => {
  it('outside years 1970 to 9999 are ValidationException, not a date the database refuses', async () => {
    const { auditRequests } = await import('../../sdk/contract/audit.js');
    for (const EndTime of [-62135596800.001, 253402300800, -1]) {
      let caught: unknown;
      try {
        validateRequest(auditRequests.LookupEvents, { EndTime });
      } catch (e) {
        caught = e;
      }
      expect(caught, String(EndTime)).toMatchObject({ code: 'ValidationException' });
    }
    expect(() => validateRequest(auditRequests.LookupEvents, { EndTime: 1_800_000_000 })).not.toThrow();
  });
});
