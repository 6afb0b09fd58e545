// Fuzzing every registered operation through the real server: random, boundary, oversized and malformed
// bodies, headers and targets always get 200 or an AWS-style 4xx; never a 5xx, a crash or a hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { CreateAliasCommand, CreateKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { OPERATIONS } from '../../server/operations/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startCoffer, type CofferProcess } from '../helpers/server.js';
import { isAwsClientError, raw, send, signedHeaders, type RawResponse } from './raw.js';
import { Recorder, SOAK } from './record.js';

const rec = new Recorder('fuzz: operation inputs');
const RUNS = SOAK ? 400 : 40;
let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;
const known: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url });
  kms = server.client();
  const key = (await kms.send(new CreateKeyCommand({ Description: 'fuzz target' }))).KeyMetadata!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/fuzz', TargetKeyId: key.KeyId }));
  const blob = (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('fuzz') }))).CiphertextBlob!;
  known.push(key.KeyId!, key.Arn!, 'alias/fuzz', `arn:aws:kms:us-east-1:111122223333:alias/fuzz`, Buffer.from(blob).toString('base64'));
});

afterAll(async () => {
  rec.note(`outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  rec.save();
  kms?.destroy();
  await server?.stop();
  await db?.drop();
});

/** Values aimed at every member: random JSON, boundary and oversized strings, numbers, base64, real identifiers. */
function memberValue(): fc.Arbitrary<unknown> {
  const b64 = fc.uint8Array({ minLength: 0, maxLength: 7000 }).map((b) => Buffer.from(b).toString('base64'));
  const boundary = fc.constantFrom(0, 1, 2, 127, 128, 129, 255, 256, 257, 1024, 1025, 2048, 2049, 4096, 4097, 6144, 6145, 8192, 8193, 32769).map((n) => 'a'.repeat(n));
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ maxLength: 300, unit: 'binary' }),
    boundary,
    b64,
    fc.constantFrom(...known, 'alias/', 'alias/aws/x', 'arn:aws:kms:us-east-1:111122223333:key/', '00000000-0000-0000-0000-000000000000', 'SYMMETRIC_DEFAULT', 'RSA_2048', 'AES_256', 'ENCRYPT_DECRYPT', '\u0000', '\ud800', '===='),
    fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1, 7, 30, 365, 366, 1024, 1025, 2 ** 31, 2 ** 53, -0, 1e308)),
    fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 5 }),
    fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.record({ TagKey: fc.string({ maxLength: 130 }), TagValue: fc.string({ maxLength: 260 }) })), { maxLength: 60 }),
  );
}

const ENUM_VALUES = [
  'SYMMETRIC_DEFAULT', 'RSA_2048', 'ECC_NIST_P256', 'HMAC_256', 'ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC',
  'AWS_KMS', 'EXTERNAL', 'RSAES_OAEP_SHA_256', 'AES_256', 'AES_128', 'symmetric_default',
];

/** Lengths at and around a string member's bounds, and one inside them. */
function sizedString(min: number, max: number): fc.Arbitrary<string> {
  const lengths = [min, min + 1, max, max + 1, ...(min > 0 ? [min - 1] : [])].filter((n) => n >= 0 && n <= 40_000);
  return fc.oneof(
    fc.constantFrom(...lengths).map((n) => 'k'.repeat(n)),
    fc.string({ minLength: Math.min(min, 64), maxLength: Math.min(max, 64) }),
    fc.constantFrom(...known, ...ENUM_VALUES),
  );
}

/** A value shaped like the member's contract type (bounds, element and value types), often near its limits. */
function fromContract(schema: z.ZodType): fc.Arbitrary<unknown> {
  const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; element?: z.ZodType; shape?: Record<string, z.ZodType> } } })._zod.def;
  const bounds = schema as unknown as { minLength?: number | null; maxLength?: number | null; minValue?: number | null; maxValue?: number | null };
  switch (def.type) {
    case 'optional':
      return fromContract(def.innerType as z.ZodType);
    case 'string':
      return sizedString(bounds.minLength ?? 0, bounds.maxLength ?? 300);
    case 'number': {
      const min = Number.isFinite(bounds.minValue) ? (bounds.minValue as number) : -1000;
      const max = Number.isFinite(bounds.maxValue) ? (bounds.maxValue as number) : 1000;
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min - 1, min, max, max + 1, min + 0.5));
    }
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromContract(def.element as z.ZodType), { maxLength: 12 });
    case 'record':
      return fc.dictionary(fc.string({ minLength: 0, maxLength: 20 }), fc.string({ maxLength: 60 }), { maxKeys: 4 });
    case 'object':
      return fc.record(Object.fromEntries(Object.entries(def.shape ?? {}).map(([k, v]) => [k, fromContract(v)])), { requiredKeys: [] });
    case 'pipe': // a base64 blob: sizes at AWS's limits, and real ciphertexts
      return fc.oneof(
        fc.constantFrom(0, 1, 16, 63, 64, 1024, 4096, 4097, 6144, 6145).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })).map((b) => Buffer.from(b).toString('base64')),
        fc.constantFrom(known[known.length - 1] as string),
      );
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function bodyFor(schema: z.ZodType): fc.Arbitrary<Record<string, unknown>> {
  const members = schema instanceof z.ZodObject ? (Object.entries(schema.shape) as [string, z.ZodType][]) : [];
  const typed = Object.fromEntries(members.map(([m, s]) => [m, fc.oneof({ weight: 4, arbitrary: fromContract(s) }, { weight: 1, arbitrary: memberValue() })]));
  return fc.tuple(fc.record(typed, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), fc.boolean()).map(
    ([body, extra, withExtra]) => (withExtra ? { ...extra, ...body } : body),
  );
}

const outcomes = new Map<string, number>();

function judge(r: RawResponse, what: string): void {
  const label = r.status === 200 ? '200' : `${r.status} ${String(r.json?.__type)}`;
  outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
  const ok = r.status === 200 ? r.json !== null : isAwsClientError(r);
  rec.check(ok && r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
}

async function alive(): Promise<void> {
  expect(server.child.exitCode).toBeNull();
  const r = await fetch(`${server.url}/healthz`);
  expect(r.status).toBe(200);
}

describe('fuzzing', () => {
  it('every operation: bodies generated from its contract get 200 or an AWS-style 4xx', async () => {
    const targets = Object.keys(OPERATIONS);
    expect(targets.length).toBeGreaterThanOrEqual(21);
    for (const target of targets) {
      const schema = (OPERATIONS[target] as { schema: z.ZodType }).schema;
      await fc.assert(
        fc.asyncProperty(bodyFor(schema), async (body) => {
          const r = await raw(server.url, { target, body: JSON.stringify(body) });
          judge(r, `${target} ${JSON.stringify(body).slice(0, 120)}`);
          return r.status < 500;
        }),
        { numRuns: RUNS },
      );
    }
    await alive();
    expect(rec.counts.failures).toBe(0);
  });

  it('malformed bodies: random bytes, broken and deep JSON, non-objects, oversized', async () => {
    const target = fc.constantFrom(...Object.keys(OPERATIONS));
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      fc.string({ maxLength: 500 }).map((s) => `{"KeyId": ${s}`),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.integer({ min: 1, max: 40_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.integer({ min: 1, max: 20_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
      fc.integer({ min: 64 * 1024 - 10, max: 200_000 }).map((n) => `{"Description":"${'x'.repeat(n)}"}`),
      fc.constant(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), // BOM then {}
      fc.constant('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}'),
    );
    await fc.assert(
      fc.asyncProperty(target, body, async (t, b) => {
        const r = await raw(server.url, { target: t, body: b });
        judge(r, `${t} malformed body of ${b.length} bytes`);
        return r.status < 500;
      }),
      { numRuns: RUNS * 8 },
    );
    await alive();
    expect(rec.counts.failures).toBe(0);
  });

  it('targets and headers: unknown, case-changed, missing targets; odd content types and extra headers', async () => {
    const target = fc.oneof(
      fc.string({ maxLength: 200 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      fc.constantFrom(...Object.keys(OPERATIONS)).map((t) => t.toLowerCase()),
      fc.constantFrom(...Object.keys(OPERATIONS)).map((t) => `${t}x`),
      fc.constantFrom('TrentService.', 'TrentService', '.ListKeys', 'TrentService.__proto__', 'TrentService.constructor', 'TrentService.hasOwnProperty', 'x'.repeat(5000)),
      fc.constant(undefined),
    );
    const headers = fc.dictionary(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/).filter((h) => !['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade'].includes(h)),
      fc.string({ maxLength: 200 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      { maxKeys: 4 },
    );
    const contentType = fc.constantFrom('application/x-amz-json-1.1', 'application/json', 'text/plain', '', 'application/x-amz-json-1.0; charset=utf-8');
    await fc.assert(
      fc.asyncProperty(target, headers, contentType, fc.boolean(), async (t, h, ct, signFirst) => {
        // Extra headers either signed (then valid) or added after signing (then the signature is wrong).
        const r = signFirst
          ? await raw(server.url, { target: t, headers: { ...h, 'content-type': ct }, body: '{}' })
          : await raw(server.url, { target: t, body: '{}', tamper: (hd, b) => ({ headers: { ...hd, ...h, 'content-type': ct }, body: b }) });
        judge(r, `target ${String(t).slice(0, 60)} headers ${Object.keys(h).join(',')}`);
        return r.status < 500 || r.status === 404;
      }),
      { numRuns: RUNS * 4 },
    );
    // Not POST / at all.
    for (const [method, path] of [['GET', '/'], ['PUT', '/'], ['POST', '/x'], ['DELETE', '/'], ['GET', '/../etc/passwd']] as const) {
      const res = await fetch(`${server.url}${path}`, { method });
      const body = (await res.json().catch(() => null)) as { __type?: string } | null;
      rec.check(res.status >= 400 && res.status < 500 && typeof body?.__type === 'string', `${method} ${path}: ${res.status}`);
    }
    // Signed, then the body is cut or lengthened: the content-length header lies.
    const { headers: h, body } = await signedHeaders(server.url, { target: 'TrentService.ListKeys', body: '{"Limit":5}' });
    const { host: _host, ...sendable } = h;
    const r = await send(server.url, sendable, body.slice(0, 3) as string);
    judge(r, 'body shorter than signed');
    await alive();
    expect(rec.counts.failures).toBe(0);
  });
});
