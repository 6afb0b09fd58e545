// SigV4 verification against requests signed by the real AWS signer (@smithy/signature-v4, as
// @aws-sdk/client-kms uses it), plus the AWS SigV4 test-suite vectors get-vanilla and post-vanilla.

import { Readable } from 'node:stream';
import { Sha256 } from '@aws-crypto/sha256-js';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsError } from '../../core/errors.js';
import {
  canonicalQuery,
  canonicalUri,
  clearSigningKeyCache,
  deriveSigningKey,
  parseAuthorization,
  signingKeyCacheSize,
  uriEncode,
  verifySigV4,
  type SignedRequest,
  type SigV4Expectation,
} from '../../server/protocol/sigv4.js';
import { kmsErrorOf } from '../helpers/kms-error.js';

/** The shape of @smithy/types' HttpRequest (a transitive package, so not imported). */
interface HttpRequest {
  method: string;
  protocol: string;
  hostname: string;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

const ACCESS_KEY = 'AKIACOFFERTEST000001';
const SECRET = 'c0ffer/Secret+Key/For/Unit/Tests/0123456789';
const REGION = 'us-east-1';
const HOST = `kms.${REGION}.amazonaws.com`;
const SIGNED_AT = new Date('2024-05-01T10:20:30Z');
const MIN = 60_000;

const secrets = new Map([[ACCESS_KEY, SECRET]]);
const lookup = async (id: string): Promise<string | null> => secrets.get(id) ?? null;
const expectation = (now: Date = SIGNED_AT): SigV4Expectation => ({ region: REGION, service: 'kms', now });

function signer(opts: { secret?: string; region?: string; service?: string; accessKeyId?: string; applyChecksum?: boolean } = {}): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: opts.accessKeyId ?? ACCESS_KEY, secretAccessKey: opts.secret ?? SECRET },
    region: opts.region ?? REGION,
    service: opts.service ?? 'kms',
    sha256: Sha256,
    applyChecksum: opts.applyChecksum ?? true,
  });
}

function kmsRequest(target: string, payload: unknown, extra: Partial<HttpRequest> = {}): HttpRequest {
  const body = JSON.stringify(payload);
  return {
    method: 'POST',
    protocol: 'https:',
    hostname: HOST,
    path: '/',
    query: {},
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${target}`,
      host: HOST,
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'aws-sdk-js/3 test',
      'amz-sdk-invocation-id': '6d0b0f86-8cd6-4a4e-9d5e-7d7c3b2f2c11',
      'amz-sdk-request': 'attempt=1; max=3',
    },
    body,
    ...extra,
  };
}

/** What a server sees of a signed smithy request: lower-cased headers, the raw query string, body bytes. */
function received(req: HttpRequest): SignedRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(req.query ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) {
      parts.push(one === null ? uriEncode(k) : `${uriEncode(k)}=${uriEncode(one)}`);
    }
  }
  const body = req.body === undefined ? new Uint8Array() : typeof req.body === 'string' ? new TextEncoder().encode(req.body) : (req.body as Uint8Array);
  return { method: req.method, path: req.path, query: parts.join('&'), headers, body };
}

async function signed(req: HttpRequest = kmsRequest('ListKeys', {}), s: SignatureV4 = signer(), signingDate: Date = SIGNED_AT): Promise<SignedRequest> {
  return received((await s.sign(req, { signingDate })) as HttpRequest);
}

function thrown(f: () => unknown): KmsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    return e as KmsError;
  }
  throw new Error('expected a throw');
}

beforeEach(() => clearSigningKeyCache());

describe('verifySigV4 with requests signed by @smithy/signature-v4', () => {
  it('accepts a good signature and returns the access key id', async () => {
    const req = await signed(kmsRequest('Encrypt', { KeyId: 'alias/x', Plaintext: 'aGVsbG8=' }));
    const cred = await verifySigV4(req, expectation(), lookup);
    expect(cred.accessKeyId).toBe(ACCESS_KEY);
    expect(cred.region).toBe(REGION);
    expect(cred.service).toBe('kms');
    expect(cred.date).toBe('20240501');
    expect(cred.amzDate).toBe('20240501T102030Z');
    expect(cred.signedHeaders).toContain('host');
    expect(cred.signedHeaders).toContain('x-amz-target');
    expect(cred.signedHeaders).not.toContain('user-agent');
  });

  it('accepts a request signed without x-amz-content-sha256', async () => {
    const req = await signed(kmsRequest('ListKeys', {}), signer({ applyChecksum: false }));
    expect(req.headers['x-amz-content-sha256']).toBeUndefined();
    await expect(verifySigV4(req, expectation(), lookup)).resolves.toMatchObject({ accessKeyId: ACCESS_KEY });
  });

  it('accepts the request @aws-sdk/client-kms itself sends', async () => {
    let captured: HttpRequest | undefined;
    const client = new KMSClient({
      region: REGION,
      endpoint: `https://${HOST}`,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: HttpRequest) => {
          captured = request;
          return {
            response: {
              statusCode: 200,
              headers: { 'content-type': 'application/x-amz-json-1.1' },
              body: Readable.from([Buffer.from('{"Keys":[],"Truncated":false}')]),
            },
          };
        },
      },
    });
    await client.send(new ListKeysCommand({ Limit: 10 }));
    expect(captured).toBeDefined();
    const req = received(captured as HttpRequest);
    const amzDate = req.headers['x-amz-date'] as string;
    const now = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    await expect(verifySigV4(req, expectation(now), lookup)).resolves.toMatchObject({ accessKeyId: ACCESS_KEY });
    req.body = new TextEncoder().encode('{"Limit":11}');
    expect((await kmsErrorOf(verifySigV4(req, expectation(now), lookup))).code).toBe('InvalidSignatureException');
  });

  it('rejects a signature made with the wrong secret', async () => {
    const req = await signed(kmsRequest('ListKeys', {}), signer({ secret: 'not-the-secret' }));
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toBe(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  });

  it('answers an unknown access key id with UnrecognizedClientException', async () => {
    const req = await signed(kmsRequest('ListKeys', {}), signer({ accessKeyId: 'AKIAUNKNOWN000000000' }));
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('UnrecognizedClientException');
    expect(e.message).toBe('The security token included in the request is invalid.');
  });

  it('rejects a body changed after signing (x-amz-content-sha256 present)', async () => {
    const req = await signed(kmsRequest('Encrypt', { KeyId: 'alias/a', Plaintext: 'AAAA' }));
    req.body = new TextEncoder().encode(JSON.stringify({ KeyId: 'alias/b', Plaintext: 'AAAA' }));
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toBe("The provided 'x-amz-content-sha256' header does not match what was computed.");
  });

  it('rejects a body changed after signing (no x-amz-content-sha256)', async () => {
    const req = await signed(kmsRequest('Encrypt', { KeyId: 'alias/a', Plaintext: 'AAAA' }), signer({ applyChecksum: false }));
    req.body = new TextEncoder().encode(JSON.stringify({ KeyId: 'alias/b', Plaintext: 'AAAA' }));
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/^The request signature we calculated does not match/);
  });

  it('rejects a body and hash both changed after signing', async () => {
    const req = await signed(kmsRequest('Encrypt', { KeyId: 'alias/a', Plaintext: 'AAAA' }));
    const forged = new TextEncoder().encode(JSON.stringify({ KeyId: 'alias/b', Plaintext: 'AAAA' }));
    req.body = forged;
    const h = new Sha256();
    h.update(forged);
    req.headers['x-amz-content-sha256'] = Buffer.from(await h.digest()).toString('hex');
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/^The request signature we calculated does not match/);
  });

  it('refuses UNSIGNED-PAYLOAD', async () => {
    const r = kmsRequest('ListKeys', {});
    r.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const req = await signed(r);
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/UNSIGNED-PAYLOAD/);
  });

  it('rejects a signed header changed after signing', async () => {
    const req = await signed(kmsRequest('Decrypt', { CiphertextBlob: 'AAAA' }));
    req.headers['x-amz-target'] = 'TrentService.ScheduleKeyDeletion';
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/^The request signature we calculated does not match/);
  });

  it('rejects a signed header removed after signing', async () => {
    const req = await signed(kmsRequest('Decrypt', { CiphertextBlob: 'AAAA' }));
    delete req.headers['x-amz-target'];
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toBe("Signed header 'x-amz-target' is not present in the request.");
  });

  it('still accepts a request with an unsigned header added', async () => {
    const req = await signed();
    req.headers['x-forwarded-for'] = '10.0.0.1';
    req.headers['user-agent'] = 'something else';
    await expect(verifySigV4(req, expectation(), lookup)).resolves.toMatchObject({ accessKeyId: ACCESS_KEY });
  });

  it('tolerates extra whitespace in header values, as canonicalisation collapses it', async () => {
    const req = await signed();
    req.headers['content-type'] = '  application/x-amz-json-1.1   ';
    await expect(verifySigV4(req, expectation(), lookup)).resolves.toBeDefined();
  });

  it('requires host among the signed headers', async () => {
    const r = kmsRequest('ListKeys', {});
    delete r.headers.host;
    const req = await signed(r);
    req.headers.host = HOST; // present on the wire, but not signed
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toBe("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('rejects a request 16 minutes stale, and accepts one 14 minutes stale', async () => {
    const req = await signed();
    await expect(verifySigV4(req, expectation(new Date(SIGNED_AT.getTime() + 14 * MIN)), lookup)).resolves.toBeDefined();
    const e = await kmsErrorOf(verifySigV4(req, expectation(new Date(SIGNED_AT.getTime() + 16 * MIN)), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/^Signature expired:/);
    expect(e.message).toBe(
      'Signature expired: 20240501T102030Z is now earlier than 20240501T102130Z (20240501T103630Z - 15 min.)',
    );
  });

  it('rejects a request 16 minutes in the future, and accepts one 14 minutes ahead', async () => {
    const req = await signed();
    await expect(verifySigV4(req, expectation(new Date(SIGNED_AT.getTime() - 14 * MIN)), lookup)).resolves.toBeDefined();
    const e = await kmsErrorOf(verifySigV4(req, expectation(new Date(SIGNED_AT.getTime() - 16 * MIN)), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/^Signature not yet current:/);
    expect(e.message).toBe(
      'Signature not yet current: 20240501T102030Z is still later than 20240501T101930Z (20240501T100430Z + 15 min.)',
    );
  });

  it('honours a custom maxSkewMs', async () => {
    const req = await signed();
    const e = await kmsErrorOf(verifySigV4(req, { ...expectation(new Date(SIGNED_AT.getTime() + 6 * MIN)), maxSkewMs: 5 * MIN }, lookup));
    expect(e.message).toMatch(/^Signature expired: .* - 5 min\.\)$/);
  });

  it('rejects a credential scoped to another region', async () => {
    const req = await signed(kmsRequest('ListKeys', {}), signer({ region: 'eu-west-1' }));
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toBe('Credential should be scoped to a valid region. ');
  });

  it('rejects a credential scoped to another service', async () => {
    const req = await signed(kmsRequest('ListKeys', {}), signer({ service: 'dynamodb' }));
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toBe("Credential should be scoped to correct service: 'kms'. ");
  });

  it('rejects a scope date that differs from X-Amz-Date', async () => {
    const req = await signed();
    req.headers.authorization = (req.headers.authorization as string).replace('/20240501/', '/20240430/');
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.code).toBe('InvalidSignatureException');
    expect(e.message).toBe(
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240430' != '20240501', from '20240501T102030Z'.",
    );
  });

  it('rejects a bad scope terminator', async () => {
    const req = await signed();
    req.headers.authorization = (req.headers.authorization as string).replace('/aws4_request', '/aws4_requests');
    const e = await kmsErrorOf(verifySigV4(req, expectation(), lookup));
    expect(e.message).toBe("Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_requests'. ");
  });

  it('verifies paths with query strings and odd characters', async () => {
    const r = kmsRequest('ListKeys', {}, {
      method: 'GET',
      path: '/a/./b/../c%20d/e~f/',
      query: { 'z-last': 'v', Action: 'List Keys', b: ['2', '1'], empty: '', 'sp ace': 'a+b/c=d&e' },
    });
    const req = await signed(r);
    expect(req.query).toContain('sp%20ace=a%2Bb%2Fc%3Dd%26e');
    await expect(verifySigV4(req, expectation(), lookup)).resolves.toMatchObject({ accessKeyId: ACCESS_KEY });
    // Reordering the query on the wire changes nothing; changing a value does.
    const reordered = { ...req, query: req.query.split('&').reverse().join('&') };
    await expect(verifySigV4(reordered, expectation(), lookup)).resolves.toBeDefined();
    const tampered = { ...req, query: req.query.replace('z-last=v', 'z-last=w') };
    expect((await kmsErrorOf(verifySigV4(tampered, expectation(), lookup))).message).toMatch(/^The request signature we calculated/);
    const otherPath = { ...req, path: '/a/c%20e/e~f/' };
    expect((await kmsErrorOf(verifySigV4(otherPath, expectation(), lookup))).code).toBe('InvalidSignatureException');
  });

  it('verifies presigned (query-string) requests', async () => {
    const r = kmsRequest('ListKeys', {}, { method: 'GET', body: undefined, headers: { host: HOST } });
    const pre = received((await signer().presign(r, { signingDate: SIGNED_AT, expiresIn: 300 })) as HttpRequest);
    expect(pre.headers.authorization).toBeUndefined();
    const cred = await verifySigV4(pre, expectation(new Date(SIGNED_AT.getTime() + 4 * MIN)), lookup);
    expect(cred.accessKeyId).toBe(ACCESS_KEY);
    const e = await kmsErrorOf(verifySigV4(pre, expectation(new Date(SIGNED_AT.getTime() + 6 * MIN)), lookup));
    expect(e.message).toMatch(/^Signature expired:/);
    const tampered = { ...pre, query: `${pre.query}&extra=1` };
    expect((await kmsErrorOf(verifySigV4(tampered, expectation(), lookup))).message).toMatch(/^The request signature we calculated/);
  });
});

describe('parseAuthorization', () => {
  const base = (headers: Record<string, string>): SignedRequest => ({
    method: 'POST',
    path: '/',
    query: '',
    headers: { host: HOST, 'x-amz-date': '20240501T102030Z', ...headers },
    body: new Uint8Array(),
  });
  const SIG = 'a'.repeat(64);

  it('answers a missing Authorization header with MissingAuthenticationTokenException', async () => {
    const e = thrown(() => parseAuthorization(base({})));
    expect(e.code).toBe('MissingAuthenticationTokenException');
    expect(e.message).toBe('Missing Authentication Token');
    const e2 = await kmsErrorOf(verifySigV4(base({}), expectation(), lookup));
    expect(e2.code).toBe('MissingAuthenticationTokenException');
    expect(thrown(() => parseAuthorization(base({ authorization: 'Bearer abc' }))).code).toBe('MissingAuthenticationTokenException');
  });

  it('parses a well-formed header', () => {
    const cred = parseAuthorization(
      base({ authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIG}` }),
    );
    expect(cred).toEqual({
      accessKeyId: 'AKID',
      date: '20240501',
      region: 'us-east-1',
      service: 'kms',
      signedHeaders: ['host', 'x-amz-date'],
      signature: SIG,
      amzDate: '20240501T102030Z',
    });
  });

  it('names every missing part of a malformed header', () => {
    const e = thrown(() => parseAuthorization(base({ authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/kms/aws4_request' })));
    expect(e.code).toBe('IncompleteSignatureException');
    expect(e.message).toBe("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.");
    const e2 = thrown(() =>
      parseAuthorization(base({ authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/kms/aws4_request, SignedHeaders=host` })),
    );
    expect(e2.message).toBe("Authorization header requires 'Signature' parameter.");
  });

  it('rejects a signature that is not 64 hex characters', () => {
    const e = thrown(() =>
      parseAuthorization(base({ authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=abc' })),
    );
    expect(e.code).toBe('IncompleteSignatureException');
    expect(e.message).toMatch(/Signature/);
  });

  it('rejects a credential without five elements', () => {
    const e = thrown(() => parseAuthorization(base({ authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1, SignedHeaders=host, Signature=${SIG}` })));
    expect(e.message).toBe(
      "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20240501/us-east-1'",
    );
  });

  it('rejects an unsupported algorithm', () => {
    const e = thrown(() =>
      parseAuthorization(base({ authorization: `AWS4-HMAC-SHA512 Credential=AKID/20240501/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=${SIG}` })),
    );
    expect(e.message).toBe("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ");
  });

  it('requires X-Amz-Date or Date', () => {
    const req = base({ authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=${SIG}` });
    delete req.headers['x-amz-date'];
    const e = thrown(() => parseAuthorization(req));
    expect(e.code).toBe('IncompleteSignatureException');
    expect(e.message).toBe("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    req.headers.date = 'Wed, 01 May 2024 10:20:30 GMT';
    expect(parseAuthorization(req).amzDate).toBe('20240501T102030Z');
  });

  it('rejects an X-Amz-Date not in ISO-8601 basic format', () => {
    const req = base({
      authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=${SIG}`,
      'x-amz-date': '2024-05-01T10:20:30Z',
    });
    expect(thrown(() => parseAuthorization(req)).message).toMatch(/^Date must be in ISO-8601 'basic format'/);
    req.headers['x-amz-date'] = '20241301T102030Z';
    expect(thrown(() => parseAuthorization(req)).message).toMatch(/^Date must be in ISO-8601 'basic format'/);
  });
});

describe('AWS SigV4 test suite vectors', () => {
  const NOW = new Date('2015-08-30T12:36:00Z');
  const suiteSecrets = async (id: string): Promise<string | null> =>
    id === 'AKIDEXAMPLE' ? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' : null;
  const exp: SigV4Expectation = { region: 'us-east-1', service: 'service', now: NOW };
  const vector = (method: string, signature: string): SignedRequest => ({
    method,
    path: '/',
    query: '',
    headers: {
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    },
    body: new Uint8Array(),
  });
  const GET_VANILLA = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';
  const POST_VANILLA = '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b';

  it('get-vanilla', async () => {
    await expect(verifySigV4(vector('GET', GET_VANILLA), exp, suiteSecrets)).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE' });
    expect((await kmsErrorOf(verifySigV4(vector('GET', POST_VANILLA), exp, suiteSecrets))).code).toBe('InvalidSignatureException');
  });

  it('post-vanilla', async () => {
    await expect(verifySigV4(vector('POST', POST_VANILLA), exp, suiteSecrets)).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE' });
  });

  it('agrees with @smithy/signature-v4 on the vectors', async () => {
    const s = new SignatureV4({
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      region: 'us-east-1',
      service: 'service',
      sha256: Sha256,
      applyChecksum: false,
    });
    for (const [method, sig] of [['GET', GET_VANILLA], ['POST', POST_VANILLA]] as const) {
      const out = (await s.sign(
        { method, protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', query: {}, headers: { host: 'example.amazonaws.com' } },
        { signingDate: NOW },
      )) as HttpRequest;
      expect(out.headers.authorization).toBe(
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
      );
    }
  });
});

describe('canonical pieces', () => {
  it('canonicalises the URI as the SDK does for non-S3 services', () => {
    expect(canonicalUri('/')).toBe('/');
    expect(canonicalUri('')).toBe('/');
    expect(canonicalUri('//')).toBe('/');
    expect(canonicalUri('/example/..')).toBe('/');
    expect(canonicalUri('/./a/../b/')).toBe('/b/');
    expect(canonicalUri('/example%20space/')).toBe('/example%2520space/');
    expect(canonicalUri('/a%2Fb')).toBe('/a%252Fb');
  });

  it('canonicalises the query', () => {
    expect(canonicalQuery('')).toBe('');
    expect(canonicalQuery('b=2&a=1&a=0')).toBe('a=0&a=1&b=2');
    expect(canonicalQuery('Param1=value1&Param1=Value1')).toBe('Param1=Value1&Param1=value1');
    expect(canonicalQuery('k')).toBe('k=');
    expect(canonicalQuery('a=%7e&b=x y&X-Amz-Signature=abc')).toBe('a=~&b=x%20y');
  });

  it('caches derived signing keys, bounded', () => {
    const k1 = deriveSigningKey('secret', '20240501', 'us-east-1', 'kms');
    expect(deriveSigningKey('secret', '20240501', 'us-east-1', 'kms')).toBe(k1);
    expect(deriveSigningKey('secret', '20240502', 'us-east-1', 'kms')).not.toEqual(k1);
    for (let i = 0; i < 1100; i++) deriveSigningKey(`s${i}`, '20240501', 'us-east-1', 'kms');
    expect(signingKeyCacheSize()).toBe(1000);
  });
});
