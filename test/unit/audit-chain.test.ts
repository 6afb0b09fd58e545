// Core's audit writer and the SDK's independent verifier must agree on the canonical form and the chain hash.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloudTrailRecord, cloudTrailRecordJson, REDACTED, requestParameters, type AuditEvent } from '../../core/audit.js';
import { canonicalJson, chainHash, checkpointDigest, checkpointMessage, GENESIS_HASH } from '../../core/audit-chain.js';
import { rawToDer } from '../../hsm/audit-signing.js';
import { canonical, checkpointSignatureValid, eventHash, verifyChain, type ChainEntry } from '../../sdk/audit/verify.js';

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  id: '6f1c2a0e-8d1b-4c57-9a43-0b9cf3f1d2aa',
  time: new Date('2026-11-23T11:00:00.123Z'),
  requestId: 'b3c1e0a4-3f1e-4a5e-8e8e-4c1d2e3f4a5b',
  operation: 'Encrypt',
  keyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  callerArn: 'arn:aws:iam::111122223333:user/admin',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  sourceIp: '127.0.0.1',
  userAgent: 'ua "quoted" \u0000 \u2028 é 😀',
  outcome: 'Success',
  errorCode: null,
  encryptionContextKeys: ['tenant'],
  userName: 'admin',
  accountId: '111122223333',
  region: 'us-east-1',
  requestParameters: requestParameters({ KeyId: 'alias/x', Plaintext: 'c2VjcmV0', EncryptionContext: { tenant: 'ctx-value' }, GrantTokens: ['tok'] }),
  ...over,
});

const tricky: unknown[] = [
  { b: 1, a: [true, null, 'x'], '\u00e9': { z: -0.5, y: 1e21, x: '' } },
  { 'é': 1, e: 2, E: 3, '😀': 4, '\uffff': 5 },
  ['\u0000\u001f"\\/', 0, -1, 123456789012, 1.5e-7],
  { nested: { deeper: { deepest: [[], {}] } } },
];

describe('canonical form', () => {
  it('core canonicalJson and sdk canonical agree on tricky values', () => {
    for (const v of tricky) expect(canonical(v)).toBe(canonicalJson(v));
  });

  it('survives a JSON round trip (what the database and export files do)', () => {
    const r = cloudTrailRecord(event());
    expect(canonical(JSON.parse(canonicalJson(r)))).toBe(canonicalJson(r));
  });

  it('core chainHash and sdk eventHash agree', () => {
    const r = cloudTrailRecord(event());
    expect(eventHash(7, GENESIS_HASH, JSON.parse(canonicalJson(r)))).toBe(chainHash(7, GENESIS_HASH, canonicalJson(r)));
  });
});

describe('CloudTrail record', () => {
  it('carries the CloudTrail fields and never the plaintext, context values or grant tokens', () => {
    const r = cloudTrailRecord(event());
    expect(r).toMatchObject({
      eventVersion: '1.08', eventSource: 'kms.amazonaws.com', eventName: 'Encrypt', eventType: 'AwsApiCall', readOnly: true,
      awsRegion: 'us-east-1', recipientAccountId: '111122223333',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/admin', accountId: '111122223333', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', userName: 'admin' },
      requestParameters: { keyId: 'alias/x', encryptionContext: { tenant: REDACTED } },
      responseElements: { keyId: event().keyArn },
      resources: [{ type: 'AWS::KMS::Key', ARN: event().keyArn }],
    });
    const text = canonicalJson(r);
    for (const secret of ['c2VjcmV0', 'ctx-value', 'tok']) expect(text).not.toContain(secret);
  });

  it('a failure carries errorCode and errorMessage and no responseElements', () => {
    const r = cloudTrailRecord(event({ outcome: 'Failure', errorCode: 'AccessDeniedException', errorMessage: 'no' }));
    expect(r).toMatchObject({ errorCode: 'AccessDeniedException', errorMessage: 'no', responseElements: null });
  });
});

function chainOf(n: number): ChainEntry[] {
  const out: ChainEntry[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i += 1) {
    const record = canonicalJson(cloudTrailRecord(event({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` })));
    const hash = chainHash(i, prev, record);
    out.push({ chainSeq: i, prevHash: prev, hash, record });
    prev = hash;
  }
  return out;
}

describe('verifier', () => {
  it('accepts a chain core wrote', async () => {
    const r = await verifyChain(chainOf(5), [], { base: { seq: 0, hash: GENESIS_HASH } });
    expect(r).toMatchObject({ ok: true, events: 5, lastSeq: 5 });
  });

  it('names the first altered event', async () => {
    const chain = chainOf(5);
    (chain[2] as ChainEntry).record = (chain[2] as ChainEntry).record.toString().replace('Encrypt', 'Decrypt');
    const r = await verifyChain(chain, []);
    expect(r.broken).toMatchObject({ chainSeq: 3, eventId: '00000000-0000-4000-8000-000000000003' });
  });

  it('checks a P-256 checkpoint signature made the way the token makes it (raw r||s over a SHA-256 digest, then DER)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const time = new Date('2026-11-23T11:00:00.000Z');
    const raw = sign('sha256', checkpointMessage(3, 'ab'.repeat(32), time), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const cp = { chainSeq: 3, hash: 'ab'.repeat(32), time: time.toISOString(), signature: rawToDer(raw).toString('base64'), publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
    expect(Buffer.from(checkpointDigest(3, 'ab'.repeat(32), time))).toEqual(createHash('sha256').update(checkpointMessage(3, 'ab'.repeat(32), time)).digest());
    expect(checkpointSignatureValid(cp)).toBe(true);
    expect(checkpointSignatureValid({ ...cp, chainSeq: 4 })).toBe(false);
  });
});

describe('cloudTrailRecordJson (the request path\'s direct form)', () => {
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
  const generated: fc.Arbitrary<AuditEvent> = fc.record(
    {
      id: fc.uuid(),
      time: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
      requestId: fc.uuid(),
      operation: fc.constantFrom('Encrypt', 'Decrypt', 'CreateKey', 'GenerateRandom', 'ListKeys', 'PutKeyPolicy', 'Sign', 'Unknown'),
      keyArn: maybe(fc.constantFrom('arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:eu-west-1:444455556666:key/x', 'no-colons')),
      callerArn: maybe(fc.constantFrom('arn:aws:iam::111122223333:user/admin', 'arn:aws:iam::444455556666:user/o"ther')),
      accessKeyId: maybe(fc.constantFrom('AKIAIOSFODNN7EXAMPLE', 'AKIA0000000000000000')),
      sourceIp: maybe(fc.constantFrom('127.0.0.1', '::1')),
      userAgent: maybe(text),
      outcome: fc.constantFrom('Success' as const, 'Failure' as const),
      errorCode: maybe(fc.constantFrom('AccessDeniedException', 'NotFoundException', '')),
      encryptionContextKeys: fc.array(text, { maxLength: 3 }),
      userName: fc.option(maybe(text), { nil: undefined }),
      accountId: fc.option(maybe(fc.constantFrom('111122223333', '444455556666')), { nil: undefined }),
      region: fc.option(fc.constantFrom('us-east-1', 'eu-west-1'), { nil: undefined }),
      sourceKeyArn: fc.option(maybe(fc.constantFrom('arn:aws:kms:eu-west-1:444455556666:key/x', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab')), { nil: undefined }),
      errorMessage: fc.option(maybe(fc.string({ unit: 'binary', maxLength: 600 })), { nil: undefined }),
      requestParameters: fc.option(
        maybe(fc.record({ keyId: text, numberOfBytes: fc.integer(), encryptionContext: fc.dictionary(text, fc.constant(REDACTED), { maxKeys: 3 }), tagKeys: fc.array(text, { maxLength: 2 }) }, { requiredKeys: [] })),
        { nil: undefined },
      ),
    },
    { requiredKeys: ['id', 'time', 'requestId', 'operation', 'keyArn', 'callerArn', 'accessKeyId', 'sourceIp', 'userAgent', 'outcome', 'errorCode', 'encryptionContextKeys'] },
  );

  it('is canonicalJson(cloudTrailRecord(e)) for every event, so the chain hashes what it always hashed', () => {
    expect(cloudTrailRecordJson(event())).toBe(canonicalJson(cloudTrailRecord(event())));
    fc.assert(
      fc.property(generated, (e) => {
        expect(cloudTrailRecordJson(e)).toBe(canonicalJson(cloudTrailRecord(e)));
      }),
      { numRuns: 3000 },
    );
  });
});
