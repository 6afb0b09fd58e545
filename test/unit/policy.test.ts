// The policy language: parsing refusals, each condition operator and condition key, evaluation, and properties.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ConditionValues } from '../../core/authorization.js';
import { evaluatePolicy, parsePolicy, type EvaluationRequest, type PolicyDocument } from '../../core/policy/index.js';

const ACCT = '111122223333';
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const req = (over: Partial<EvaluationRequest> = {}): EvaluationRequest => ({
  principal: { arn: ALICE, accountId: ACCT },
  action: 'kms:Encrypt',
  resource: KEY,
  conditions: {},
  ...over,
});

const policy = (statements: object[] | object, kind: 'resource' | 'identity' = 'resource') =>
  parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), kind);
const allowWith = (condition: object) => policy({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Condition: condition });
const decide = (doc: PolicyDocument, conditions: ConditionValues) => evaluatePolicy(doc, req({ conditions })).decision;

describe('parsePolicy refuses malformed documents with a reason', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{', /not valid JSON/],
    ['no statement', '{"Version":"2012-10-17"}', /must contain a Statement/],
    ['empty statement list', '{"Statement":[]}', /at least one statement/],
    ['bad version', '{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}', /Version/],
    ['bad effect', '{"Statement":{"Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}}', /Effect must be Allow or Deny/],
    ['no principal in a key policy', '{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}', /Principal or NotPrincipal/],
    ['invalid principal', '{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"kms:*","Resource":"*"}}', /invalid principals/],
    ['no action', '{"Statement":{"Effect":"Allow","Principal":"*","Resource":"*"}}', /Action or NotAction/],
    ['both Action and NotAction', '{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","NotAction":"kms:Decrypt","Resource":"*"}}', /both Action and NotAction/],
    ['bad action', '{"Statement":{"Effect":"Allow","Principal":"*","Action":"Encrypt","Resource":"*"}}', /not a valid action/],
    ['no resource', '{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*"}}', /Resource or NotResource/],
    ['unknown operator', '{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringSorta":{"a":"b"}}}}', /unknown condition operator StringSorta/],
    ['unknown field', '{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Foo":1}}', /unknown field Foo/],
    ['duplicate Sid', '{"Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}', /unique/],
    ['over 32 KB', JSON.stringify({ Id: 'x'.repeat(33_000), Statement: [] }), /larger than 32768 bytes/],
  ];
  it.each(cases)('%s', (_name, text, message) => {
    expect(() => parsePolicy(text, 'resource')).toThrow(message);
    try {
      parsePolicy(text, 'resource');
    } catch (e) {
      expect((e as { code: string }).code).toBe('MalformedPolicyDocumentException');
    }
  });

  it('an identity policy must not name a Principal', () => {
    expect(() => policy({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' }, 'identity')).toThrow(/prohibited field Principal/);
  });

  it('accepts one statement as an object, an account id principal and a list of ARNs', () => {
    const doc = policy({ Effect: 'Allow', Principal: { AWS: [ACCT, ALICE] }, Action: ['kms:Encrypt'], Resource: '*' });
    expect(doc.statements[0]?.principal).toEqual([`arn:aws:iam::${ACCT}:root`, ALICE]);
  });
});

describe('principals, actions and resources', () => {
  it('an ARN principal is matched directly; the account root delegates', () => {
    expect(evaluatePolicy(policy({ Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:Encrypt', Resource: '*' }), req())).toMatchObject({ decision: 'Allow', via: 'principal' });
    expect(evaluatePolicy(policy({ Effect: 'Allow', Principal: { AWS: ACCT }, Action: 'kms:Encrypt', Resource: '*' }), req())).toMatchObject({ decision: 'Allow', via: 'account' });
    expect(evaluatePolicy(policy({ Effect: 'Allow', Principal: { AWS: '444455556666' }, Action: 'kms:Encrypt', Resource: '*' }), req()).decision).toBe('NotApplicable');
  });

  it('NotPrincipal applies to everyone but those named', () => {
    const doc = policy({ Effect: 'Deny', NotPrincipal: { AWS: ALICE }, Action: 'kms:*', Resource: '*' });
    expect(evaluatePolicy(doc, req()).decision).toBe('NotApplicable');
    expect(evaluatePolicy(doc, req({ principal: { arn: `arn:aws:iam::${ACCT}:user/bob`, accountId: ACCT } })).decision).toBe('Deny');
  });

  it.each([
    ['kms:*', 'kms:Encrypt', true],
    ['kms:Generate*', 'kms:GenerateDataKey', true],
    ['kms:Generate*', 'kms:Encrypt', false],
    ['KMS:encrypt', 'kms:Encrypt', true],
    ['kms:Re?ncrypt*', 'kms:ReEncryptFrom', true],
    ['*', 'kms:Decrypt', true],
  ])('Action %s matches %s: %s', (pattern, action, expected) => {
    const doc = policy({ Effect: 'Allow', Principal: '*', Action: pattern, Resource: '*' });
    expect(evaluatePolicy(doc, req({ action })).decision).toBe(expected ? 'Allow' : 'NotApplicable');
  });

  it('NotAction allows everything else', () => {
    const doc = policy({ Effect: 'Allow', Principal: '*', NotAction: 'kms:Decrypt', Resource: '*' });
    expect(evaluatePolicy(doc, req({ action: 'kms:Encrypt' })).decision).toBe('Allow');
    expect(evaluatePolicy(doc, req({ action: 'kms:Decrypt' })).decision).toBe('NotApplicable');
  });

  it('Resource and NotResource match ARNs with wildcards', () => {
    expect(evaluatePolicy(policy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: `arn:aws:kms:us-east-1:${ACCT}:key/*` }), req()).decision).toBe('Allow');
    expect(evaluatePolicy(policy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: 'arn:aws:kms:*:444455556666:key/*' }), req()).decision).toBe('NotApplicable');
    expect(evaluatePolicy(policy({ Effect: 'Allow', Principal: '*', Action: '*', NotResource: KEY }), req()).decision).toBe('NotApplicable');
  });
});

type Row = [string, object, ConditionValues, boolean];
const rows: Row[] = [
  ['StringEquals on kms:EncryptionContext:<key>', { StringEquals: { 'kms:EncryptionContext:tenant': 'a' } }, { 'kms:EncryptionContext:tenant': 'a' }, true],
  ['StringEquals mismatch', { StringEquals: { 'kms:EncryptionContext:tenant': 'a' } }, { 'kms:EncryptionContext:tenant': 'b' }, false],
  ['StringEquals missing key', { StringEquals: { 'kms:EncryptionContext:tenant': 'a' } }, {}, false],
  ['StringEquals list of values is OR', { StringEquals: { 'kms:EncryptionAlgorithm': ['RSAES_OAEP_SHA_256', 'SYMMETRIC_DEFAULT'] } }, { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' }, true],
  ['StringNotEquals', { StringNotEquals: { 'kms:CallerAccount': '444455556666' } }, { 'kms:CallerAccount': ACCT }, true],
  ['StringNotEquals missing key holds', { StringNotEquals: { 'kms:CallerAccount': ACCT } }, {}, true],
  ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'alice' }, true],
  ['StringNotEqualsIgnoreCase', { StringNotEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'alice' }, false],
  ['StringLike on kms:RequestAlias', { StringLike: { 'kms:RequestAlias': 'alias/app-*' } }, { 'kms:RequestAlias': 'alias/app-prod' }, true],
  ['StringNotLike', { StringNotLike: { 'kms:RequestAlias': 'alias/app-*' } }, { 'kms:RequestAlias': 'alias/other' }, true],
  ['StringEqualsIfExists missing', { StringEqualsIfExists: { 'kms:EncryptionContext:tenant': 'a' } }, {}, true],
  ['StringEqualsIfExists present mismatch', { StringEqualsIfExists: { 'kms:EncryptionContext:tenant': 'a' } }, { 'kms:EncryptionContext:tenant': 'b' }, false],
  ['StringEquals kms:KeySpec', { StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT' } }, { 'kms:KeySpec': 'SYMMETRIC_DEFAULT' }, true],
  ['StringEquals kms:KeyUsage', { StringEquals: { 'kms:KeyUsage': 'SIGN_VERIFY' } }, { 'kms:KeyUsage': 'ENCRYPT_DECRYPT' }, false],
  ['StringEquals kms:KeyOrigin', { StringEquals: { 'kms:KeyOrigin': 'AWS_KMS' } }, { 'kms:KeyOrigin': 'AWS_KMS' }, true],
  ['StringEquals kms:SigningAlgorithm', { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } }, { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' }, true],
  ['StringEquals kms:GranteePrincipal', { StringEquals: { 'kms:GranteePrincipal': ALICE } }, { 'kms:GranteePrincipal': ALICE }, true],
  ['StringEquals kms:RetiringPrincipal', { StringEquals: { 'kms:RetiringPrincipal': ALICE } }, { 'kms:RetiringPrincipal': 'x' }, false],
  ['StringEquals aws:ResourceTag/<key>', { StringEquals: { 'aws:ResourceTag/env': 'prod' } }, { 'aws:ResourceTag/env': 'prod' }, true],
  ['ForAllValues:StringEquals kms:EncryptionContextKeys subset', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['a', 'b'] } }, { 'kms:EncryptionContextKeys': ['a'] }, true],
  ['ForAllValues:StringEquals extra key', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['a'] } }, { 'kms:EncryptionContextKeys': ['a', 'c'] }, false],
  ['ForAllValues holds when the key is absent', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['a'] } }, {}, true],
  ['ForAnyValue:StringEquals kms:GrantOperations', { 'ForAnyValue:StringEquals': { 'kms:GrantOperations': ['Decrypt'] } }, { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] }, true],
  ['ForAnyValue fails when the key is absent', { 'ForAnyValue:StringEquals': { 'kms:GrantOperations': ['Decrypt'] } }, {}, false],
  ['ForAnyValue:StringLike kms:ResourceAliases', { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/finance-*' } }, { 'kms:ResourceAliases': ['alias/x', 'alias/finance-1'] }, true],
  ['NumericEquals', { NumericEquals: { 'test:n': '5' } }, { 'test:n': 5 }, true],
  ['NumericNotEquals', { NumericNotEquals: { 'test:n': 5 } }, { 'test:n': 5 }, false],
  ['NumericLessThan', { NumericLessThan: { 'test:n': 5 } }, { 'test:n': 4 }, true],
  ['NumericLessThanEquals', { NumericLessThanEquals: { 'test:n': 5 } }, { 'test:n': 6 }, false],
  ['NumericGreaterThan', { NumericGreaterThan: { 'test:n': 5 } }, { 'test:n': 6 }, true],
  ['NumericGreaterThanEquals', { NumericGreaterThanEquals: { 'test:n': 5 } }, { 'test:n': 5 }, true],
  ['Numeric on a non-number is false', { NumericEquals: { 'test:n': 5 } }, { 'test:n': 'five' }, false],
  ['DateLessThan aws:CurrentTime', { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2026-11-23T12:00:00Z' }, true],
  ['DateGreaterThan aws:CurrentTime', { DateGreaterThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2026-11-23T12:00:00Z' }, false],
  ['DateEquals epoch seconds', { DateEquals: { 'aws:CurrentTime': '1700000000' } }, { 'aws:CurrentTime': '2023-11-14T22:13:20Z' }, true],
  ['DateNotEquals', { DateNotEquals: { 'aws:CurrentTime': '2023-11-14T22:13:20Z' } }, { 'aws:CurrentTime': '2023-11-14T22:13:20Z' }, false],
  ['DateLessThanEquals', { DateLessThanEquals: { 'aws:CurrentTime': '2023-11-14T22:13:20Z' } }, { 'aws:CurrentTime': '2023-11-14T22:13:20Z' }, true],
  ['DateGreaterThanEquals', { DateGreaterThanEquals: { 'aws:CurrentTime': '2023-11-14T22:13:21Z' } }, { 'aws:CurrentTime': '2023-11-14T22:13:20Z' }, false],
  ['Bool kms:ReEncryptOnSameKey', { Bool: { 'kms:ReEncryptOnSameKey': 'true' } }, { 'kms:ReEncryptOnSameKey': true }, true],
  ['Bool kms:BypassPolicyLockoutSafetyCheck', { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': true } }, { 'kms:BypassPolicyLockoutSafetyCheck': false }, false],
  ['Null true: key absent', { Null: { 'kms:EncryptionContextKeys': 'true' } }, {}, true],
  ['Null false: key present', { Null: { 'kms:EncryptionContextKeys': 'false' } }, { 'kms:EncryptionContextKeys': ['a'] }, true],
  ['Null false on an empty list', { Null: { 'kms:EncryptionContextKeys': 'false' } }, { 'kms:EncryptionContextKeys': [] }, false],
  ['ArnEquals aws:PrincipalArn', { ArnEquals: { 'aws:PrincipalArn': ALICE } }, { 'aws:PrincipalArn': ALICE }, true],
  ['ArnLike aws:PrincipalArn', { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCT}:user/*` } }, { 'aws:PrincipalArn': ALICE }, true],
  ['ArnNotEquals', { ArnNotEquals: { 'aws:PrincipalArn': ALICE } }, { 'aws:PrincipalArn': ALICE }, false],
  ['ArnNotLike', { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::444455556666:*' } }, { 'aws:PrincipalArn': ALICE }, true],
  ['IpAddress aws:SourceIp', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.1.2.3' }, true],
  ['NotIpAddress aws:SourceIp', { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '192.168.0.1' }, true],
  ['IpAddress IPv6 range', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8:0:1::7' }, true],
  ['IpAddress IPv6 outside the range', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db9::1' }, false],
  ['IpAddress IPv6 written two ways', { IpAddress: { 'aws:SourceIp': '2001:0db8:0000:0000:0000:0000:0000:0001' } }, { 'aws:SourceIp': '2001:db8::1' }, true],
  ['IpAddress ::/0 holds every IPv6 address', { IpAddress: { 'aws:SourceIp': '::/0' } }, { 'aws:SourceIp': 'fe80::1' }, true],
  ['IpAddress IPv4-mapped in an IPv6 range', { IpAddress: { 'aws:SourceIp': '::ffff:0:0/96' } }, { 'aws:SourceIp': '::ffff:192.0.2.1' }, true],
  ['IpAddress IPv4 request against an IPv6 range', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '10.1.2.3' }, false],
  ['NotIpAddress IPv6', { NotIpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': 'fd00::5' }, true],
  ['IpAddress malformed IPv6 is no match', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8:::1' }, false],
  ['IpAddress bad prefix is no match', { IpAddress: { 'aws:SourceIp': '10.0.0.0/40' } }, { 'aws:SourceIp': '10.1.2.3' }, false],
  ['StringEquals kms:CallerAccount', { StringEquals: { 'kms:CallerAccount': ACCT } }, { 'kms:CallerAccount': ACCT }, true],
  ['two operators are AND', { StringEquals: { 'kms:CallerAccount': ACCT }, Bool: { 'kms:ReEncryptOnSameKey': 'true' } }, { 'kms:CallerAccount': ACCT, 'kms:ReEncryptOnSameKey': false }, false],
  ['condition keys are case-insensitive', { StringEquals: { 'KMS:CALLERACCOUNT': ACCT } }, { 'kms:CallerAccount': ACCT }, true],
];

describe('condition operators and keys', () => {
  it.each(rows)('%s', (_name, condition, values, expected) => {
    expect(decide(allowWith(condition), values)).toBe(expected ? 'Allow' : 'NotApplicable');
  });
});

const arbStatement = fc.record({
  Effect: fc.constantFrom('Allow', 'Deny'),
  Principal: fc.constantFrom<object | string>('*', { AWS: ALICE }, { AWS: ACCT }, { AWS: '444455556666' }),
  Action: fc.constantFrom('kms:*', 'kms:Encrypt', 'kms:Decrypt', 'kms:Generate*', '*'),
  Resource: fc.constantFrom('*', KEY, 'arn:aws:kms:*:444455556666:key/*'),
  Condition: fc.constantFrom<object | undefined>(undefined, { StringEquals: { 'kms:EncryptionContext:t': 'a' } }, { Null: { 'kms:EncryptionContextKeys': 'true' } }),
}).map((s) => (s.Condition === undefined ? { ...s, Condition: undefined } : s));
const arbRequest = fc.record({
  action: fc.constantFrom('kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:PutKeyPolicy'),
  conditions: fc.constantFrom<ConditionValues>({}, { 'kms:EncryptionContext:t': 'a', 'kms:EncryptionContextKeys': ['t'] }, { 'kms:EncryptionContext:t': 'b', 'kms:EncryptionContextKeys': ['t'] }),
  arn: fc.constantFrom(ALICE, `arn:aws:iam::${ACCT}:user/bob`, 'arn:aws:iam::444455556666:user/carol'),
});
const toReq = (r: { action: string; conditions: ConditionValues; arn: string }) =>
  req({ action: r.action, conditions: r.conditions, principal: { arn: r.arn, accountId: r.arn.split(':')[4] as string } });
const doc = (statements: object[]) => policy(statements.map((s) => JSON.parse(JSON.stringify(s)) as object));

describe('properties', () => {
  it('an explicit Deny always wins', () => {
    fc.assert(
      fc.property(fc.array(arbStatement, { minLength: 1, maxLength: 6 }), arbRequest, (statements, r) => {
        const e = evaluatePolicy(doc(statements), toReq(r));
        const denyApplies = statements
          .filter((s) => s.Effect === 'Deny')
          .some((s) => evaluatePolicy(doc([{ ...s, Effect: 'Allow' }]), toReq(r)).decision === 'Allow');
        expect(e.decision === 'Deny').toBe(denyApplies);
      }),
    );
  });

  it('an empty policy allows nothing', () => {
    fc.assert(
      fc.property(arbRequest, (r) => {
        expect(evaluatePolicy(null, toReq(r)).decision).toBe('NotApplicable');
      }),
    );
  });

  it('adding an Allow never removes access', () => {
    fc.assert(
      fc.property(fc.array(arbStatement, { minLength: 1, maxLength: 5 }), arbStatement, arbRequest, (statements, extra, r) => {
        const before = evaluatePolicy(doc(statements), toReq(r));
        const after = evaluatePolicy(doc([...statements, { ...extra, Effect: 'Allow' }]), toReq(r));
        if (before.decision === 'Allow') {
          expect(after.decision).toBe('Allow');
          if (before.via === 'principal') expect(after).toMatchObject({ via: 'principal' });
        }
      }),
    );
  });
});
