// The coffer CLI as a subprocess against the real server for the commands of the newer families: keys rotate,
// grants create|list|revoke, sign/verify, iam create-user (with tags)|get-user|tag-user|untag-user|list-user-tags|create-access-key|put-user-policy.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CofferClient } from '../../sdk/client.js';
import { ACCOUNT, ADMIN, REGION, startCoffer, type CofferProcess } from '../helpers/server.js';
import { runCli } from './cli-helpers.js';

let server: CofferProcess;
let env: Record<string, string>;
let sdk: CofferClient;
const dir = mkdtempSync(join(tmpdir(), 'coffer-cli-families-'));
const cli = (...args: string[]) => runCli(args, env);
const json = async (...args: string[]) => {
  const r = await cli(...args, '--output', 'json');
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  server = await startCoffer();
  env = { COFFER_ENDPOINT: server.url, AWS_ACCESS_KEY_ID: ADMIN.accessKeyId, AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey };
  sdk = new CofferClient({ endpoint: server.url, region: REGION, credentials: ADMIN, env: {} });
});
afterAll(async () => {
  await server?.stop();
});

describe('coffer keys rotate', () => {
  it('rotates a key on demand; ListKeyRotations shows the rotation', async () => {
    const key = (await json('keys', 'create')).KeyMetadata;
    expect(await json('keys', 'rotate', key.KeyId)).toEqual({ KeyId: key.Arn });
    const table = await cli('keys', 'rotate', key.KeyId);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(`KeyId  ${key.Arn}\n`);
    const rotations = (await sdk.listKeyRotations({ KeyId: key.KeyId })).Rotations!;
    expect(rotations.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'ON_DEMAND']);
    const missing = await cli('keys', 'rotate', '00000000-0000-0000-0000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^NotFoundException: /);
  });
});

describe('coffer sign / verify', () => {
  it('signs a file to --out; node:crypto and coffer verify accept it, and a changed message exits 1', async () => {
    const key = (await json('keys', 'create', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY')).KeyMetadata;
    const msg = join(dir, 'msg.txt');
    writeFileSync(msg, 'sign this file');
    const sig = join(dir, 'msg.sig');
    const signed = await cli('sign', '--key', key.KeyId, '--algorithm', 'ECDSA_SHA_256', '--in', msg, '--out', sig);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(new RegExp(`^Signature\\s+written to ${sig}$`, 'm'));
    const pub = await sdk.getPublicKey({ KeyId: key.KeyId });
    const spki = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', readFileSync(msg), spki, readFileSync(sig))).toBe(true);
    const ok = await json('verify', '--key', key.KeyId, '--algorithm', 'ECDSA_SHA_256', '--in', msg, '--signature', sig);
    expect(ok).toEqual({ KeyId: key.Arn, SignatureValid: true, SigningAlgorithm: 'ECDSA_SHA_256' });
    const bad = await cli('verify', '--key', key.KeyId, '--algorithm', 'ECDSA_SHA_256', '--message', 'another message', '--signature', sig);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^KMSInvalidSignatureException: /);
    const b64 = await json('sign', '--key', key.KeyId, '--algorithm', 'ECDSA_SHA_256', '--message', 'inline');
    expect(nodeVerify('sha256', Buffer.from('inline'), spki, Buffer.from(b64.Signature, 'base64'))).toBe(true);
  });
});

describe('coffer iam and coffer grants', () => {
  it('creates a user and an access key, grants it Decrypt, lists and revokes the grant, and sets its policy', async () => {
    const user = (await json('iam', 'create-user', '--user-name', 'cli-bob')).User;
    expect(user).toMatchObject({ UserName: 'cli-bob', Arn: `arn:aws:iam::${ACCOUNT}:user/cli-bob`, Path: '/' });
    expect(user.CreateDate).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await json('iam', 'get-user', '--user-name', 'cli-bob')).User.UserId).toBe(user.UserId);
    expect((await json('iam', 'get-user')).User.UserName).toBe('admin');
    expect((await cli('iam', 'tag-user', '--user-name', 'cli-bob', '--tag', 'team=payments', '--tag', 'level=2')).code).toBe(0);
    await cli('iam', 'untag-user', '--user-name', 'cli-bob', '--tag-key', 'level');
    expect((await json('iam', 'list-user-tags', '--user-name', 'cli-bob')).Tags).toEqual([{ Key: 'team', Value: 'payments' }]);
    const tagged = (await json('iam', 'create-user', '--user-name', 'cli-carol', '--tag', 'team=ads')).User;
    expect(tagged.Tags).toEqual([{ Key: 'team', Value: 'ads' }]);
    const ak = (await json('iam', 'create-access-key', '--user-name', 'cli-bob')).AccessKey;
    expect(ak).toMatchObject({ UserName: 'cli-bob', Status: 'Active' });
    const bob = { ...env, AWS_ACCESS_KEY_ID: ak.AccessKeyId, AWS_SECRET_ACCESS_KEY: ak.SecretAccessKey };

    const key = (await json('keys', 'create')).KeyMetadata;
    const plain = join(dir, 'for-bob.txt');
    writeFileSync(plain, 'for bob');
    const sealed = join(dir, 'for-bob.cfe');
    expect((await cli('encrypt', '--key', key.KeyId, '--in', plain, '--out', sealed)).code).toBe(0);
    const denied = await runCli(['decrypt', '--in', sealed, '--out', '-'], bob);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^AccessDeniedException: /);

    const grant = await json('grants', 'create', '--key', key.KeyId, '--grantee-principal', user.Arn, '--operations', 'Decrypt,DescribeKey', '--name', 'cli-grant');
    expect(typeof grant.GrantId).toBe('string');
    expect(typeof grant.GrantToken).toBe('string');
    const allowed = await runCli(['decrypt', '--in', sealed, '--out', '-'], bob);
    expect(allowed.stdout).toBe('for bob');
    const listed = await json('grants', 'list', '--key', key.KeyId);
    expect(listed.Grants).toHaveLength(1);
    expect(listed.Grants[0]).toMatchObject({ GrantId: grant.GrantId, Name: 'cli-grant', GranteePrincipal: user.Arn, Operations: ['Decrypt', 'DescribeKey'] });
    const table = await cli('grants', 'list', '--key', key.KeyId);
    expect(table.stdout).toMatch(new RegExp(`^${grant.GrantId}\\s+cli-grant\\s+${user.Arn.replace(/[/.]/g, '\\$&')}\\s+Decrypt,DescribeKey\\s+\\d{4}-`, 'm'));
    expect((await cli('grants', 'revoke', '--key', key.KeyId, '--grant-id', grant.GrantId)).code).toBe(0);
    expect((await cli('grants', 'list', '--key', key.KeyId)).stdout).toBe('(none)\n');
    expect((await runCli(['decrypt', '--in', sealed, '--out', '-'], bob)).code).toBe(1);

    expect((await runCli(['keys', 'list'], bob)).stderr).toMatch(/^AccessDeniedException: /);
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] }));
    const put = await cli('iam', 'put-user-policy', '--user-name', 'cli-bob', '--policy-name', 'list', '--policy-document', `file://${policy}`);
    expect(put).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const keys = await runCli(['keys', 'list'], bob);
    expect(keys.code).toBe(0);
    expect(keys.stdout).toContain(key.KeyId);
    const dup = await cli('iam', 'create-user', '--user-name', 'cli-bob');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^EntityAlreadyExistsException: /);
  });
});
