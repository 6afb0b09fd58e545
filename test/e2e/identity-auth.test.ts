// End-to-end: requests signed with a wrong secret, an inactive or deleted access key, a stale date, or a body changed
// after signing are refused with AWS's error names, through the AWS SDK and through the AWS CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ok, type Credentials } from '../helpers/identity.js';
import { ADMIN, failure, REGION, startCoffer, type CofferProcess } from '../helpers/server.js';

let server: CofferProcess;
let active: Credentials;
let inactive: Credentials;
let deleted: Credentials;
let proxy: Server;
let proxyUrl: string;
const clients: KMSClient[] = [];
const sdk = (c: Credentials, opts: { clockOffsetMs?: number } = {}) => {
  const k = server.client(c);
  if (opts.clockOffsetMs) k.config.systemClockOffset = opts.clockOffsetMs;
  clients.push(k);
  return k;
};
const listKeysPolicy = JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' } });

/** Forwards requests to Coffer after changing one byte of the body (same length), as a tampering middlebox would. */
function startTamperingProxy(target: string): Promise<string> {
  const t = new URL(target);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.from(Buffer.concat(chunks).toString('utf8').replace(/"Limit": ?5/, '"Limit": 6'));
      const out = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      out.end(body);
    });
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => {
    const a = proxy.address();
    resolve(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
  }));
}

beforeAll(async () => {
  server = await startCoffer();
  for (const name of ['active', 'inactive', 'deleted']) {
    await ok(server.url, ADMIN, 'CreateUser', { UserName: name });
    await ok(server.url, ADMIN, 'PutUserPolicy', { UserName: name, PolicyName: 'list', PolicyDocument: listKeysPolicy });
  }
  const make = async (name: string) => {
    const k = (await ok(server.url, ADMIN, 'CreateAccessKey', { UserName: name })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    return { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey };
  };
  active = await make('active');
  inactive = await make('inactive');
  deleted = await make('deleted');
  // Each works before it is disabled or deleted, so the refusals below are caused by that change.
  for (const c of [active, inactive, deleted]) await sdk(c).send(new ListKeysCommand({}));
  await ok(server.url, ADMIN, 'UpdateAccessKey', { UserName: 'inactive', AccessKeyId: inactive.accessKeyId, Status: 'Inactive' });
  await ok(server.url, ADMIN, 'DeleteAccessKey', { UserName: 'deleted', AccessKeyId: deleted.accessKeyId });
  proxyUrl = await startTamperingProxy(server.url);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await new Promise((r) => (proxy ? proxy.close(r) : r(undefined)));
  await server?.stop();
});

describe('through the AWS SDK', () => {
  it('a new user’s access key works', async () => {
    expect((await sdk(active).send(new ListKeysCommand({}))).Keys).toBeDefined();
  });

  it('a wrong secret: InvalidSignatureException', async () => {
    expect((await failure(sdk({ ...active, secretAccessKey: 'A'.repeat(40) }).send(new ListKeysCommand({})))).name).toBe('InvalidSignatureException');
  });

  it('an inactive access key: UnrecognizedClientException; active again, it works', async () => {
    const e = await failure(sdk(inactive).send(new ListKeysCommand({})));
    expect(e).toMatchObject({ name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    await ok(server.url, ADMIN, 'UpdateAccessKey', { UserName: 'inactive', AccessKeyId: inactive.accessKeyId, Status: 'Active' });
    await sdk(inactive).send(new ListKeysCommand({}));
    await ok(server.url, ADMIN, 'UpdateAccessKey', { UserName: 'inactive', AccessKeyId: inactive.accessKeyId, Status: 'Inactive' });
  });

  it('a deleted access key: UnrecognizedClientException', async () => {
    expect((await failure(sdk(deleted).send(new ListKeysCommand({})))).name).toBe('UnrecognizedClientException');
  });

  it('a stale date (clock 20 minutes behind): InvalidSignatureException, Signature expired', async () => {
    const e = await failure(sdk(active, { clockOffsetMs: -20 * 60_000 }).send(new ListKeysCommand({})));
    expect(e.name).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/^Signature expired/);
  });

  it('a body changed after signing: InvalidSignatureException', async () => {
    const c = sdk(active);
    c.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body?: string | Uint8Array };
        const text = typeof req.body === 'string' ? req.body : new TextDecoder().decode(req.body);
        if (!text.includes('"Limit":5')) throw new Error(`unexpected body ${text}`);
        req.body = text.replace('"Limit":5', '"Limit":6');
        return next(args);
      },
      { step: 'deserialize', name: 'tamperAfterSigning' },
    );
    expect((await failure(c.send(new ListKeysCommand({ Limit: 5 })))).name).toBe('InvalidSignatureException');
  });
});

/** Runs the AWS CLI without blocking the event loop (the tampering proxy lives in this process). */
function cli(creds: Credentials, args: string[], opts: { endpoint?: string; python?: string } = {}): Promise<{ status: number | null; out: string; err: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_DEFAULT_REGION: REGION, AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'standard' };
  const common = ['kms', ...args, '--endpoint-url', opts.endpoint ?? server.url, '--output', 'json'];
  const child = opts.python ? spawn('python3', ['-c', opts.python, ...common], { env }) : spawn('aws', common, { env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ status: null, out, err: `${err}${String(e)}` }));
    child.on('close', (status) => resolve({ status, out, err }));
  });
}

/** Runs the AWS CLI in-process with botocore's clock set 20 minutes back, so it signs with a stale date. */
const STALE_CLOCK_CLI = [
  'import sys, datetime, botocore.auth as a',
  'real = a.get_current_datetime',
  'a.get_current_datetime = lambda *x, **k: real(*x, **k) - datetime.timedelta(minutes=20)',
  'from awscli.clidriver import main',
  'sys.argv = ["aws"] + sys.argv[1:]',
  'sys.exit(main())',
].join('\n');

describe('through the AWS CLI', () => {
  it('the active key works', async () => {
    const r = await cli(active, ['list-keys']);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toHaveProperty('Keys');
  });

  it('a wrong secret: InvalidSignatureException', async () => {
    expect((await cli({ ...active, secretAccessKey: 'B'.repeat(40) }, ['list-keys'])).err).toMatch(/\(InvalidSignatureException\)/);
  });

  it('an inactive access key: UnrecognizedClientException', async () => {
    expect((await cli(inactive, ['list-keys'])).err).toMatch(/\(UnrecognizedClientException\).*The security token included in the request is invalid/);
  });

  it('a deleted access key: UnrecognizedClientException', async () => {
    expect((await cli(deleted, ['list-keys'])).err).toMatch(/\(UnrecognizedClientException\)/);
  });

  it('a stale date: InvalidSignatureException, Signature expired', async () => {
    const r = await cli(active, ['list-keys'], { python: STALE_CLOCK_CLI });
    expect(r.err).toMatch(/\(InvalidSignatureException\).*Signature expired/);
  });

  it('a body changed after signing (by a proxy): InvalidSignatureException', async () => {
    const r = await cli(active, ['list-keys', '--limit', '5'], { endpoint: proxyUrl });
    expect(r.err).toMatch(/\(InvalidSignatureException\)/);
  });
});
