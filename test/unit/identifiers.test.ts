import { describe, expect, it } from 'vitest';
import { aliasArn, keyArn, parseKeyIdOnly, parseKeyReference } from '../../core/identifiers.js';
import { assertStateAllows } from '../../core/key-state.js';

const scope = { region: 'us-east-1', accountId: '111122223333' };
const id = '1234abcd-12ab-34cd-56ef-1234567890ab';

describe('key references', () => {
  it('parses the four forms of KeyId', () => {
    expect(parseKeyReference(id, scope)).toEqual({ kind: 'keyId', keyId: id, accountId: null });
    expect(parseKeyReference(keyArn(scope, id), scope)).toEqual({ kind: 'keyId', keyId: id, accountId: '111122223333' });
    expect(parseKeyReference('alias/app', scope)).toEqual({ kind: 'alias', aliasName: 'alias/app', accountId: null });
    expect(parseKeyReference(aliasArn(scope, 'alias/app'), scope)).toEqual({ kind: 'alias', aliasName: 'alias/app', accountId: '111122223333' });
  });

  it('builds ARNs as AWS does', () => {
    expect(keyArn(scope, id)).toBe(`arn:aws:kms:us-east-1:111122223333:key/${id}`);
    expect(aliasArn(scope, 'alias/app')).toBe('arn:aws:kms:us-east-1:111122223333:alias/app');
  });

  it.each(['nope', 'arn:aws:kms:us-east-1:111122223333:key/not-a-uuid', `arn:aws:kms:eu-west-1:111122223333:key/${id}`, id.toUpperCase()])(
    'rejects %s with NotFoundException',
    (input) => {
      expect(() => parseKeyReference(input, scope)).toThrowError(expect.objectContaining({ code: 'NotFoundException' }));
    },
  );

  it('refuses an alias where only a key id or ARN is allowed', () => {
    expect(() => parseKeyIdOnly('alias/app', scope)).toThrowError(expect.objectContaining({ code: 'NotFoundException' }));
  });
});

describe('key state rules', () => {
  const arn = keyArn(scope, id);
  it('crypto needs Enabled: Disabled gives DisabledException, PendingDeletion KMSInvalidStateException', () => {
    expect(() => assertStateAllows('Enabled', arn, 'crypto')).not.toThrow();
    expect(() => assertStateAllows('Disabled', arn, 'crypto')).toThrowError(expect.objectContaining({ code: 'DisabledException', message: `${arn} is disabled.` }));
    expect(() => assertStateAllows('PendingDeletion', arn, 'crypto')).toThrowError(
      expect.objectContaining({ code: 'KMSInvalidStateException', message: `${arn} is pending deletion.` }),
    );
  });
  it('management accepts Disabled but not PendingDeletion unless allowed; reads accept all', () => {
    expect(() => assertStateAllows('Disabled', arn, 'manage')).not.toThrow();
    expect(() => assertStateAllows('PendingDeletion', arn, 'manage')).toThrow();
    expect(() => assertStateAllows('PendingDeletion', arn, 'manage', true)).not.toThrow();
    expect(() => assertStateAllows('PendingDeletion', arn, 'read')).not.toThrow();
  });
});
