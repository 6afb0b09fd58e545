// Authentication attacks: replay outside the window, a signature over another body, headers changed or added
// after signing, access-key-id probing, oversized headers, and slow headers and bodies cut off by timeouts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connect } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import fc from 'fast-check';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ADMIN, REGION, startCoffer, type CofferProcess } from '../helpers/server.js';
import { isAwsClientError, raw, send, signedHeaders } from './raw.js';
import { Recorder, SOAK } from './record.js';

const rec = new Recorder('authentication attacks');
let db: TestDatabase | null;
let server: CofferProcess;
let kms: KMSClient;
let keyId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startCoffer({ databaseUrl: db?.url, env: { COFFER_REQUEST_TIMEOUT_SECONDS: '2', COFFER_HEADERS_TIMEOUT_SECONDS: '1' } });
  kms = server.client();
  keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
});

afterAll(async () => {
  rec.save();
  kms?.destroy();
  await server?.stop();
  await db?.drop();
});

function expectRefused(r: { status: number; json: { __type?: string } | null; text: string }, type: string, what: string): void {
  rec.check(r.status === 400 && r.json?.__type === type, `${what}: ${r.status} ${r.text.slice(0, 160)}`);
  expect(r.json?.__type, what).toBe(type);
}

const MIN = 60_000;

describe('replay and signing window', () => {
  it('a request signed more than 15 minutes ago or ahead is refused; inside the window a replay is served (as in AWS)', async () => {
    for (const offset of [-16 * MIN, -60 * MIN, -24 * 60 * MIN, 16 * MIN, 60 * MIN]) {
      const r = await raw(server.url, { target: 'TrentService.ListKeys', signingDate: new Date(Date.now() + offset) });
      expectRefused(r, 'InvalidSignatureException', `signed ${offset / MIN} min away`);
      expect(r.json?.message).toMatch(/^Signature (expired|not yet current)/);
    }
    // SigV4 has no nonce: the very same bytes replayed inside the window are served, as AWS KMS does.
    const { headers, body } = await signedHeaders(server.url, { target: 'TrentService.DescribeKey', body: JSON.stringify({ KeyId: keyId }), signingDate: new Date(Date.now() - 14 * MIN) });
    const { host: _h, ...sendable } = headers;
    for (let i = 0; i < 2; i++) rec.check((await send(server.url, sendable, body)).status === 200, 'replay inside the window');
  });
});

describe('tampering with a signed request', () => {
  it('another body, a changed signed header, a changed target or an added x-amz-* header is refused', async () => {
    const body = JSON.stringify({ KeyId: keyId });
    const cases: [string, (h: Record<string, string>, b: string | Uint8Array) => { headers: Record<string, string>; body: string | Uint8Array }][] = [
      ['another body', (h) => ({ headers: h, body: JSON.stringify({ KeyId: keyId, Limit: 1 }) })],
      ['a body with one more space', (h) => ({ headers: h, body: `${body} ` })],
      ['the target changed', (h) => ({ headers: { ...h, 'x-amz-target': 'TrentService.ScheduleKeyDeletion' }, body })],
      ['the content type changed', (h) => ({ headers: { ...h, 'content-type': 'application/json' }, body })],
      ['the date moved one second', (h) => ({ headers: { ...h, 'x-amz-date': h['x-amz-date']!.replace(/(\d)Z$/, (_, d: string) => `${(Number(d) + 1) % 10}Z`) }, body })],
      ['a signed header removed', (h) => {
        const { 'content-type': _t, ...rest } = h;
        return { headers: rest, body };
      }],
      ['the signature truncated', (h) => ({ headers: { ...h, authorization: h.authorization!.slice(0, -2) }, body })],
      ['the signature of another request', (h) => ({ headers: { ...h, authorization: h.authorization!.replace(/Signature=[0-9a-f]+/, `Signature=${'0'.repeat(64)}`) }, body })],
      ['an x-amz-content-sha256 of another body', (h) => ({ headers: { ...h, 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }, body })],
      ['UNSIGNED-PAYLOAD', (h) => ({ headers: { ...h, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body: '{}' })],
    ];
    for (const [what, tamper] of cases) {
      const r = await raw(server.url, { target: 'TrentService.DisableKey', body, tamper });
      rec.check(isAwsClientError(r) && /Signature|Incomplete/.test(String(r.json?.__type)), `${what}: ${r.status} ${r.text.slice(0, 160)}`);
      expect(r.status, what).toBe(400);
    }
  });

  it('a target or other x-amz-* header left out of SignedHeaders is refused, so a captured request cannot be retargeted', async () => {
    const url = new URL(server.url);
    const body = JSON.stringify({ KeyId: keyId });
    const signer = new SignatureV4({ service: 'kms', region: REGION, credentials: ADMIN, sha256: Sha256 });
    const base = { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.EnableKey' };
    const signed = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers: base, body },
      { unsignableHeaders: new Set(['x-amz-target']) },
    );
    const { host: _h, ...headers } = signed.headers as Record<string, string>;
    expect(headers.authorization).not.toContain('x-amz-target');
    const retargeted = await send(server.url, { ...headers, 'x-amz-target': 'TrentService.ScheduleKeyDeletion' }, body);
    expectRefused(retargeted, 'InvalidSignatureException', 'unsigned target, retargeted');
    const asIs = await send(server.url, headers, body);
    expectRefused(asIs, 'InvalidSignatureException', 'unsigned target');
    const added = await raw(server.url, { target: 'TrentService.ListKeys', tamper: (h, b) => ({ headers: { ...h, 'x-amz-security-token': 'added' }, body: b }) });
    expectRefused(added, 'InvalidSignatureException', 'x-amz-security-token added after signing');
    // Headers that are not x-amz-* may be added after signing (AWS ignores unsigned headers).
    const extra = await raw(server.url, { target: 'TrentService.ListKeys', tamper: (h, b) => ({ headers: { ...h, 'x-forwarded-for': '10.0.0.1' }, body: b }) });
    rec.check(extra.status === 200, 'an unsigned ordinary header');
  });
});

describe('access key probing', () => {
  it('unknown key ids: UnrecognizedClientException; a known id with a wrong secret: InvalidSignatureException (AWS behaviour)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Z0-9]{16,24}$/), fc.string({ minLength: 40, maxLength: 40 }), async (id, secret) => {
        const known = id === ADMIN.accessKeyId;
        const r = await raw(server.url, { target: 'TrentService.ListKeys', credentials: { accessKeyId: id, secretAccessKey: secret } });
        const want = known ? 'InvalidSignatureException' : 'UnrecognizedClientException';
        rec.check(r.status === 400 && r.json?.__type === want, `probe ${id}: ${r.json?.__type}`);
        return r.status === 400;
      }),
      { numRuns: SOAK ? 2000 : 100 },
    );
    for (const secret of [ADMIN.secretAccessKey.slice(0, -1) + 'X', ADMIN.secretAccessKey.toLowerCase(), '', 'a'.repeat(1000)]) {
      const r = await raw(server.url, { target: 'TrentService.ListKeys', credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: secret } });
      expectRefused(r, 'InvalidSignatureException', 'wrong secret for a known id');
    }
    // Malformed credential scopes never reach the lookup and never give a 5xx.
    for (const auth of ['AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256 Credential=', `AWS4-HMAC-SHA256 Credential=${'A'.repeat(5000)}/x/y/z/aws4_request, SignedHeaders=host, Signature=00`, 'Basic YWRtaW46YWRtaW4=', 'AWS4-HMAC-SHA256 Credential=AKIA\u00ff/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=zz']) {
      const r = await raw(server.url, { target: 'TrentService.ListKeys', sign: false, headers: { authorization: auth, 'x-amz-date': '20260101T000000Z' } }).catch(() => null);
      rec.check(r !== null && isAwsClientError(r), `authorization ${auth.slice(0, 40)}: ${r?.status}`);
    }
    expect(rec.counts.failures).toBe(0);
  });
});

/** Writes the request a piece at a time over a raw socket; resolves with what the server answered and whether it closed. */
function slowRequest(pieces: string[], gapMs: number, giveUpMs = 20_000): Promise<{ response: string; closed: boolean }> {
  const u = new URL(server.url);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname);
    let response = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < pieces.length && socket.writable) socket.write(pieces[i++] as string);
    }, gapMs);
    const done = (closed: boolean) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ response, closed });
    };
    const giveUp = setTimeout(() => done(false), giveUpMs);
    socket.on('data', (d) => (response += d.toString()));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
  });
}

describe('oversized headers and slow clients', () => {
  it('oversized headers get a 4xx and the server stays up', async () => {
    const before = rec.counts.failures;
    for (const size of [17_000, 100_000]) {
      const r = await raw(server.url, { target: 'TrentService.ListKeys', tamper: (h, b) => ({ headers: { ...h, 'x-big': 'a'.repeat(size) }, body: b }) }).catch((e: Error) => e);
      const ok = r instanceof Error ? /ECONNRESET|socket hang up|EPIPE/.test(r.message) : r.status === 431;
      rec.check(ok, `header of ${size} bytes: ${r instanceof Error ? r.message : r.status}`);
    }
    const many: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) many[`x-h${i}`] = 'v';
    const r = await raw(server.url, { target: 'TrentService.ListKeys', tamper: (h, b) => ({ headers: { ...h, ...many }, body: b }) }).catch((e: Error) => e);
    rec.check(r instanceof Error || (r.status >= 400 && r.status < 500) || r.status === 200, `3000 headers: ${r instanceof Error ? r.message : r.status}`);
    const alive = await fetch(`${server.url}/healthz`);
    rec.check(alive.status === 200 && server.child.exitCode === null, 'server alive after oversized headers');
    expect(rec.counts.failures).toBe(before);
  });

  it('a body that never finishes and headers sent a byte at a time are cut off with 408 by the server', async () => {
    const before = rec.counts.failures;
    const { headers, body } = await signedHeaders(server.url, { target: 'TrentService.ListKeys', body: JSON.stringify({ Limit: 10, Marker: 'x'.repeat(500) }) });
    const head = `POST / HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const slowBody = await slowRequest([head, ...String(body).match(/.{1,5}/g)!], 250);
    rec.check(slowBody.closed && /^HTTP\/1\.1 408/.test(slowBody.response), `slow body: closed ${slowBody.closed}, ${slowBody.response.slice(0, 40)}`);
    const slowHeaders = await slowRequest(head.match(/.{1,3}/gs)!, 200);
    rec.check(slowHeaders.closed && /^HTTP\/1\.1 408/.test(slowHeaders.response), `slow headers: closed ${slowHeaders.closed}, ${slowHeaders.response.slice(0, 40)}`);
    const silent = await slowRequest([], 1000);
    rec.check(silent.closed, 'a connection that sends nothing is closed');
    const ok = await raw(server.url, { target: 'TrentService.ListKeys' });
    rec.check(ok.status === 200, 'served normally afterwards');
    expect(rec.counts.failures).toBe(before);
  }, 90_000);
});

