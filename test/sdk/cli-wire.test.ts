// CLI commands of the newer families (rotate, grants, sign/verify, iam): the exact AWS target and request shape they
// send and how they print the answer, against a local recording server (cli-families.test.ts runs them for real).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from './cli-inprocess.js';

const seen: { target: string; body: Record<string, unknown> }[] = [];
let answers: Record<string, [number, object]> = {};
let server: Server;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'coffer-cli-wire-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      seen.push({ target, body: JSON.parse(data) });
      const [status, body] = answers[target] ?? [200, {}];
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  env = { COFFER_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function run(args: string[], answer?: [string, number, object]) {
  seen.length = 0;
  answers = answer ? { [answer[0]]: [answer[1], answer[2]] } : {};
  return runMain(args, env);
}

describe('CLI wire shapes', () => {
  it('keys rotate sends RotateKeyOnDemand', async () => {
    const r = await run(['keys', 'rotate', 'k1', '--output', 'json'], ['TrentService.RotateKeyOnDemand', 200, { KeyId: 'k1' }]);
    expect(r.code).toBe(0);
    expect(seen).toEqual([{ target: 'TrentService.RotateKeyOnDemand', body: { KeyId: 'k1' } }]);
    expect(JSON.parse(r.stdout)).toEqual({ KeyId: 'k1' });
  });

  it('grants create, list, revoke and retire send AWS shapes', async () => {
    let r = await run(['grants', 'create', '--key', 'k', '--grantee-principal', 'arn:aws:iam::111122223333:user/bob', '--operations', 'Encrypt, Decrypt', '--context-subset', 'app=x'],
      ['TrentService.CreateGrant', 200, { GrantId: 'g1', GrantToken: 't1' }]);
    expect(r.code).toBe(0);
    expect(seen[0]).toEqual({ target: 'TrentService.CreateGrant', body: { KeyId: 'k', GranteePrincipal: 'arn:aws:iam::111122223333:user/bob', Operations: ['Encrypt', 'Decrypt'], Constraints: { EncryptionContextSubset: { app: 'x' } } } });
    expect(r.stdout).toMatch(/^GrantId\s+g1$/m);
    r = await run(['grants', 'list', '--key', 'k'], ['TrentService.ListGrants', 200, { Grants: [{ GrantId: 'g1', GranteePrincipal: 'p', Operations: ['Decrypt'], CreationDate: 1700000000 }], Truncated: false }]);
    expect(r.stdout).toMatch(/^g1\s+p\s+Decrypt\s+2023-11-14T22:13:20.000Z$/m);
    await run(['grants', 'revoke', '--key', 'k', '--grant-id', 'g1']);
    expect(seen[0]).toEqual({ target: 'TrentService.RevokeGrant', body: { KeyId: 'k', GrantId: 'g1' } });
    await run(['grants', 'retire', '--grant-token', 't1']);
    expect(seen[0]).toEqual({ target: 'TrentService.RetireGrant', body: { GrantToken: 't1' } });
  });

  it('sign and verify send Sign and Verify with base64 blobs; an invalid signature exits 1', async () => {
    const msg = join(dir, 'm.txt');
    writeFileSync(msg, 'message');
    const sigFile = join(dir, 'm.sig');
    let r = await run(['sign', '--key', 'k', '--algorithm', 'ECDSA_SHA_256', '--in', msg, '--out', sigFile],
      ['TrentService.Sign', 200, { KeyId: 'arn', Signature: Buffer.from('sig').toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' }]);
    expect(r.code).toBe(0);
    expect(seen[0]).toEqual({ target: 'TrentService.Sign', body: { KeyId: 'k', SigningAlgorithm: 'ECDSA_SHA_256', Message: Buffer.from('message').toString('base64'), MessageType: 'RAW' } });
    expect(readFileSync(sigFile).toString()).toBe('sig');
    r = await run(['verify', '--key', 'k', '--algorithm', 'ECDSA_SHA_256', '--message', 'message', '--signature', sigFile, '--output', 'json'],
      ['TrentService.Verify', 200, { KeyId: 'arn', SignatureValid: true, SigningAlgorithm: 'ECDSA_SHA_256' }]);
    expect(seen[0]!.body.Signature).toBe(Buffer.from('sig').toString('base64'));
    expect(JSON.parse(r.stdout).SignatureValid).toBe(true);
    r = await run(['verify', '--key', 'k', '--algorithm', 'ECDSA_SHA_256', '--message', 'm', '--signature', sigFile],
      ['TrentService.Verify', 400, { __type: 'KMSInvalidSignatureException', message: 'invalid' }]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('KMSInvalidSignatureException: invalid\n');
    expect((await run(['sign', '--key', 'k', '--algorithm', 'A'])).code).toBe(2);
  });

  it('iam create-user, create-access-key and put-user-policy send IAM shapes under CofferIdentity.', async () => {
    let r = await run(['iam', 'create-user', '--user-name', 'alice'], ['CofferIdentity.CreateUser', 200, { User: { UserName: 'alice', UserId: 'AIDA1', Arn: 'arn:aws:iam::111122223333:user/alice', Path: '/' } }]);
    expect(seen[0]).toEqual({ target: 'CofferIdentity.CreateUser', body: { UserName: 'alice' } });
    expect(r.stdout).toMatch(/^Arn\s+arn:aws:iam::111122223333:user\/alice$/m);
    r = await run(['iam', 'create-access-key', '--user-name', 'alice', '--output', 'json'], ['CofferIdentity.CreateAccessKey', 200, { AccessKey: { UserName: 'alice', AccessKeyId: 'AKIA1', SecretAccessKey: 's', Status: 'Active' } }]);
    expect(JSON.parse(r.stdout).AccessKey.AccessKeyId).toBe('AKIA1');
    const policy = '{"Version":"2012-10-17","Statement":[]}';
    r = await run(['iam', 'put-user-policy', '--user-name', 'alice', '--policy-name', 'p', '--policy-document', policy]);
    expect(r.code).toBe(0);
    expect(seen[0]).toEqual({ target: 'CofferIdentity.PutUserPolicy', body: { UserName: 'alice', PolicyName: 'p', PolicyDocument: policy } });
    r = await run(['iam', 'create-user'], undefined);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--user-name is required/);
  });

  it('audit is wired to the audit commands: bad usage prints their usage and exits 2', async () => {
    const r = await run(['audit', 'frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/coffer audit verify/);
  });
});
