// The KmsError a promise rejects with; fails the test when it resolves or rejects with anything else.
import { expect } from 'vitest';
import { KmsError } from '../../core/errors.js';

export async function kmsErrorOf(p: Promise<unknown>): Promise<KmsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    return e as KmsError;
  }
  throw new Error('expected a rejection');
}
