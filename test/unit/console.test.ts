// The console's DOM-free parts under Node: its WebCrypto SigV4 signer against the server's verifier, the wizard's
// policy preview against the server's policy parser, and the static handler's path checks and missing-build answer.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../core/errors.js';
import { parsePolicy } from '../../core/policy/document.js';
import { keyPolicy, policySyntaxProblem, type KeyUsage } from '../../console/src/policy.js';
import { signRequest } from '../../console/src/sigv4.js';
import { consoleFile, CONSOLE_CSP, mountConsole } from '../../server/console.js';
import { SIGNATURE_MISMATCH_MESSAGE, verifySigV4, type SignedRequest } from '../../server/protocol/sigv4.js';

const CREDS = { accessKeyId: 'AKIACOFFERCONSOLE001', secretAccessKey: 'c0nsole/Secret+Key/For/Unit/Tests/012345678' };
const NOW = new Date('2026-01-02T03:04:05Z');
const lookup = async (id: string) => (id === CREDS.accessKeyId ? CREDS.secretAccessKey : null);

async function browserRequest(origin: string, body: string): Promise<SignedRequest> {
  const headers = await signRequest({
    origin,
    path: '/',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
    body,
    region: 'us-east-1',
    service: 'kms',
    credentials: CREDS,
    date: NOW,
  });
  // What the browser adds on its own: Host from the page's origin, and headers the page cannot sign or suppress.
  const browserHeaders = { host: new URL(origin).host, origin, accept: '*/*', 'sec-fetch-mode': 'cors', 'user-agent': 'Chromium' };
  return { method: 'POST', path: '/', query: '', headers: { ...headers, ...browserHeaders }, body: new TextEncoder().encode(body) };
}

describe('the console signer', () => {
  it('signs requests the server verifies, with the Host of the page the console is served from', async () => {
    for (const origin of ['http://127.0.0.1:8080', 'https://kms.example.internal']) {
      const req = await browserRequest(origin, '{"Limit":1}');
      await expect(verifySigV4(req, { region: 'us-east-1', service: 'kms', now: NOW }, lookup)).resolves.toMatchObject({ accessKeyId: CREDS.accessKeyId });
    }
  });

  it('a changed body or another host does not verify', async () => {
    const req = await browserRequest('http://127.0.0.1:8080', '{"Limit":1}');
    const exp = { region: 'us-east-1', service: 'kms', now: NOW };
    await expect(verifySigV4({ ...req, body: new TextEncoder().encode('{"Limit":2}') }, exp, lookup)).rejects.toThrow(SIGNATURE_MISMATCH_MESSAGE);
    const moved = { ...req, headers: { ...req.headers, host: 'evil.example:8080' } };
    await expect(verifySigV4(moved, exp, lookup)).rejects.toBeInstanceOf(KmsError);
  });
});

describe('the wizard policy preview', () => {
  const usages: [KeyUsage, boolean][] = [['ENCRYPT_DECRYPT', true], ['ENCRYPT_DECRYPT', false], ['SIGN_VERIFY', false], ['GENERATE_VERIFY_MAC', false], ['KEY_AGREEMENT', false]];
  it('parses as a key policy for every usage, with administrators and users as IAM user ARNs', () => {
    for (const [usage, symmetric] of usages) {
      const doc = keyPolicy({ accountId: '111122223333', administrators: ['arn:aws:iam::111122223333:user/alice'], users: ['arn:aws:iam::111122223333:user/bob', 'arn:aws:iam::111122223333:user/carol'], usage, symmetric });
      expect(() => parsePolicy(JSON.stringify(doc), 'resource')).not.toThrow();
      expect((doc.Statement as unknown[]).length).toBe(3);
    }
  });

  it('without administrators or users is the root statement alone', () => {
    const doc = keyPolicy({ accountId: '111122223333', administrators: [], users: [], usage: 'ENCRYPT_DECRYPT', symmetric: true });
    expect(doc.Statement).toEqual([{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }]);
  });

  it("the editor refuses what is not JSON or has no Statement before sending; the rest is the service's to judge", () => {
    expect(policySyntaxProblem('{')).toMatch(/^The policy is not valid JSON/);
    expect(policySyntaxProblem('[]')).toBe('The policy must be a JSON object.');
    expect(policySyntaxProblem('{"Version":"2012-10-17"}')).toBe('The policy must have a Statement.');
    expect(policySyntaxProblem('{"Statement":[{"Effect":"Perhaps"}]}')).toBeNull();
  });
});

describe('the console static handler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-console-unit-'));
  it('names files inside its folder only', () => {
    expect(consoleFile(dir, '/console/')).toBe(join(dir, 'index.html'));
    expect(consoleFile(dir, '/console/assets/a.js')).toBe(join(dir, 'assets', 'a.js'));
    for (const bad of ['/console/../x', '/console/..%2fx', '/console/%2e%2e/x', '/console/a/..%5cx', '/console/a%00.js', '/console/.env', '/console/a//b', '/console/%E0%A4%A']) {
      expect(consoleFile(dir, bad), bad).toBeNull();
    }
  });

  it('answers a clear 404 when the console is not built, and serves it with a CSP when it is', async () => {
    const app = new Hono();
    mountConsole(app, dir);
    const missing = await app.request('/console/');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('The console is not built');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'assets', 'app.css'), 'body{}');
    const index = await app.request('/console/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const css = await app.request('/console/assets/app.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('cache-control')).toContain('immutable');
    expect((await app.request('/console/nope.js')).status).toBe(404);
  });
});
