// Policy variables (core/policy/variables.ts): ${key}, defaults, ${*}/${?}/${$}, in condition values of String and Arn
// operators and in Resource/NotResource, only in Version 2012-10-17 documents.
import { describe, expect, it } from 'vitest';
import type { ConditionValues } from '../../core/authorization.js';
import { evaluatePolicy, parsePolicy, type EvaluationRequest } from '../../core/policy/index.js';

const ACCT = '111122223333';
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ALICE_VALUES: ConditionValues = { 'aws:username': 'alice', 'aws:PrincipalArn': ALICE, 'aws:PrincipalAccount': ACCT };

const decide = (statement: object, conditions: ConditionValues, version: string | null = '2012-10-17', resource = KEY) => {
  const doc = parsePolicy(JSON.stringify({ ...(version ? { Version: version } : {}), Statement: statement }), 'resource');
  const request: EvaluationRequest = { principal: { arn: ALICE, accountId: ACCT }, action: 'kms:Encrypt', resource, conditions: { ...ALICE_VALUES, ...conditions } };
  return evaluatePolicy(doc, request).decision;
};
const allowWhen = (Condition: object) => ({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Condition });

describe('policy variables in condition values', () => {
  const rows: Array<[string, object, ConditionValues, 'Allow' | 'NotApplicable']> = [
    ['StringEquals with ${aws:username}', { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } }, { 'aws:ResourceTag/owner': 'alice' }, 'Allow'],
    ['StringEquals with ${aws:username}, another owner', { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } }, { 'aws:ResourceTag/owner': 'bob' }, 'NotApplicable'],
    ['a variable inside text', { StringEquals: { 'kms:EncryptionContext:path': 'home/${aws:username}/notes' } }, { 'kms:EncryptionContext:path': 'home/alice/notes' }, 'Allow'],
    ['the variable key is case-insensitive', { StringEquals: { 'aws:ResourceTag/owner': '${AWS:UserName}' } }, { 'aws:ResourceTag/owner': 'alice' }, 'Allow'],
    ['StringNotEquals', { StringNotEquals: { 'aws:ResourceTag/owner': '${aws:username}' } }, { 'aws:ResourceTag/owner': 'bob' }, 'Allow'],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'aws:ResourceTag/owner': '${aws:username}' } }, { 'aws:ResourceTag/owner': 'ALICE' }, 'Allow'],
    ['StringLike with a wildcard of the policy text', { StringLike: { 'kms:EncryptionContext:path': '${aws:username}/*' } }, { 'kms:EncryptionContext:path': 'alice/x/y' }, 'Allow'],
    ['StringLike: what a variable puts in is literal', { StringLike: { 'kms:EncryptionContext:path': '${aws:ResourceTag/prefix}x' } }, { 'aws:ResourceTag/prefix': 'a*', 'kms:EncryptionContext:path': 'abcx' }, 'NotApplicable'],
    ['StringLike: ... and matches itself', { StringLike: { 'kms:EncryptionContext:path': '${aws:ResourceTag/prefix}x' } }, { 'aws:ResourceTag/prefix': 'a*', 'kms:EncryptionContext:path': 'a*x' }, 'Allow'],
    ['ArnLike with ${aws:PrincipalAccount}', { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::${aws:PrincipalAccount}:user/*' } }, {}, 'Allow'],
    ['ArnEquals with a whole ARN', { ArnEquals: { 'aws:PrincipalArn': '${aws:PrincipalArn}' } }, {}, 'Allow'],
    ['a key with no value matches nothing', { StringEquals: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/team}' } }, { 'aws:ResourceTag/owner': '' }, 'NotApplicable'],
    ['a default stands in for a missing key', { StringEquals: { 'aws:ResourceTag/owner': "${aws:PrincipalTag/team, 'nobody'}" } }, { 'aws:ResourceTag/owner': 'nobody' }, 'Allow'],
    ['a default with a quote in it', { StringEquals: { 'aws:ResourceTag/owner': "${aws:PrincipalTag/team, 'o''brien'}" } }, { 'aws:ResourceTag/owner': "o'brien" }, 'Allow'],
    ['the value, not the default, when the key has one', { StringEquals: { 'aws:ResourceTag/owner': "${aws:username, 'nobody'}" } }, { 'aws:ResourceTag/owner': 'alice' }, 'Allow'],
    ['a list value is no value', { StringEquals: { 'aws:ResourceTag/owner': '${kms:EncryptionContextKeys}' } }, { 'aws:ResourceTag/owner': 'a', 'kms:EncryptionContextKeys': ['a', 'b'] }, 'NotApplicable'],
    ['${*} is a literal asterisk', { StringLike: { 'aws:ResourceTag/owner': 'a${*}' } }, { 'aws:ResourceTag/owner': 'a*' }, 'Allow'],
    ['${*} is no wildcard', { StringLike: { 'aws:ResourceTag/owner': 'a${*}' } }, { 'aws:ResourceTag/owner': 'abc' }, 'NotApplicable'],
    ['${$} is a dollar', { StringEquals: { 'aws:ResourceTag/owner': '${$}{aws:username}' } }, { 'aws:ResourceTag/owner': '${aws:username}' }, 'Allow'],
    ['an unclosed variable is text', { StringEquals: { 'aws:ResourceTag/owner': '${aws:username' } }, { 'aws:ResourceTag/owner': '${aws:username' }, 'Allow'],
    ['Numeric operators take no variables', { NumericEquals: { 'kms:RotationPeriodInDays': '${aws:EpochTime}' } }, { 'kms:RotationPeriodInDays': '90', 'aws:EpochTime': 90 }, 'NotApplicable'],
  ];
  it.each(rows)('%s', (_name, condition, conditions, expected) => {
    expect(decide(allowWhen(condition), conditions)).toBe(expected);
  });

  it('are text in a 2008-10-17 document, or one without a Version', () => {
    const condition = { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } };
    for (const version of ['2008-10-17', null]) {
      expect(decide(allowWhen(condition), { 'aws:ResourceTag/owner': 'alice' }, version)).toBe('NotApplicable');
      expect(decide(allowWhen(condition), { 'aws:ResourceTag/owner': '${aws:username}' }, version)).toBe('Allow');
    }
  });

  it('a Deny on a key with no value: StringNotEquals holds (no value equals it), StringEquals does not', () => {
    const deny = (op: string) => [
      { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { [op]: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/team}' } } },
    ];
    expect(decide(deny('StringNotEquals'), { 'aws:ResourceTag/owner': 'x' })).toBe('Deny');
    expect(decide(deny('StringEquals'), { 'aws:ResourceTag/owner': 'x' })).toBe('Allow');
  });
});

describe('policy variables in Resource and NotResource', () => {
  const mine = `arn:aws:kms:us-east-1:${ACCT}:alias/alice-*`;
  it('a resource pattern built from the caller', () => {
    const statement = { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: 'arn:aws:kms:us-east-1:${aws:PrincipalAccount}:alias/${aws:username}-*' };
    expect(decide(statement, {}, '2012-10-17', mine.replace('*', 'notes'))).toBe('Allow');
    expect(decide(statement, {}, '2012-10-17', mine.replace('alice', 'bob').replace('*', 'notes'))).toBe('NotApplicable');
  });

  it('a pattern whose variable has no value matches no resource (NotResource then excludes none)', () => {
    const resource = { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '${aws:PrincipalTag/keys}' };
    expect(decide(resource, {})).toBe('NotApplicable');
    const notResource = { Effect: 'Allow', Principal: '*', Action: 'kms:*', NotResource: '${aws:PrincipalTag/keys}' };
    expect(decide(notResource, {})).toBe('Allow');
  });
});
