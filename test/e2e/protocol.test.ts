// End-to-end: the wire protocol's refusals (authentication, malformed bodies, unknown operations), health,
// configuration errors, and the audit rows every request leaves.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { CreateKeyCommand, DescribeCustomKeyStoresCommand, EncryptCommand, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import postgres from 'postgres';
import { createTestDatabase } from '../helpers/database.js';
import { newUser, ok } from '../helpers/identity.js';
import { ADMIN, failure, REGION, ROOT, serverPerFile, startCoffer } from '../helpers/server.js';

const ctx = serverPerFile();

interface RawOptions {
  target?: string;
  body?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
  sign?: boolean;
  tamper?: (headers: Record<string, string>, body: string) => { headers: Record<string, string>; body: string };
}

/** A hand-made AWS JSON 1.1 request, signed by the AWS signer unless told otherwise. */
async function raw(opts: RawOptions): Promise<{ status: number; body: { __type?: string; message?: string } & Record<string, unknown>; headers: Headers }> {
  const url = new URL(ctx.server.url);
  let headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/x-amz-json-1.1',
    ...(opts.target !== undefined ? { 'x-amz-target': opts.target } : {}),
  };
  let body = opts.body ?? '{}';
  if (opts.sign !== false) {
    const signer = new SignatureV4({ service: 'kms', region: REGION, credentials: opts.credentials ?? ADMIN, sha256: Sha256 });
    const signed = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers, body },
      { signingDate: opts.signingDate ?? new Date() },
    );
    headers = signed.headers as Record<string, string>;
  }
  if (opts.tamper) ({ headers, body } = opts.tamper(headers, body));
  const { host: _host, ...sendable } = headers;
  const res = await fetch(ctx.server.url, { method: 'POST', headers: sendable, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

describe('authentication', () => {
  it('a properly signed request is served', async () => {
    const r = await raw({ target: 'TrentService.ListKeys' });
    expect(r.status).toBe(200);
    expect(r.body).toHaveProperty('Keys');
    expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('an unsigned request gets MissingAuthenticationTokenException', async () => {
    const r = await raw({ target: 'TrentService.ListKeys', sign: false });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
    // An error carries its request id and its type in headers too, as AWS's do.
    expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(r.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  });

  it('a wrong secret gets InvalidSignatureException', async () => {
    const r = await raw({ target: 'TrentService.ListKeys', credentials: { ...ADMIN, secretAccessKey: 'x'.repeat(40) } });
    expect(r.body.__type).toBe('InvalidSignatureException');
    expect(r.body.message).toMatch(/^The request signature we calculated does not match/);
  });

  it('an unknown access key gets UnrecognizedClientException', async () => {
    const r = await raw({ target: 'TrentService.ListKeys', credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: ADMIN.secretAccessKey } });
    expect(r.body).toEqual({ __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  });

  it('a request signed more than 15 minutes ago gets InvalidSignatureException (Signature expired)', async () => {
    const r = await raw({ target: 'TrentService.ListKeys', signingDate: new Date(Date.now() - 16 * 60_000) });
    expect(r.body.__type).toBe('InvalidSignatureException');
    expect(r.body.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
  });

  it('a body changed after signing gets InvalidSignatureException', async () => {
    const r = await raw({ target: 'TrentService.ListKeys', body: '{"Limit":5}', tamper: (h) => ({ headers: h, body: '{"Limit":6}' }) });
    expect(r.body.__type).toBe('InvalidSignatureException');
  });

  it('the AWS SDK with a wrong secret is refused by name', async () => {
    const bad = ctx.server.client({ ...ADMIN, secretAccessKey: 'y'.repeat(40) });
    expect((await failure(bad.send(new CreateKeyCommand({})))).name).toBe('InvalidSignatureException');
    bad.destroy();
  });
});

describe('malformed requests', () => {
  it('an unknown or missing target gets UnknownOperationException', async () => {
    expect((await raw({ target: 'TrentService.DoMagic' })).body.__type).toBe('UnknownOperationException');
    expect((await raw({ target: 'Other.ListKeys' })).body.__type).toBe('UnknownOperationException');
    expect((await raw({})).body.__type).toBe('UnknownOperationException');
  });

  it("AWS KMS operations Coffer does not offer get UnsupportedOperationException naming why, through the AWS SDK too", async () => {
    const r = await raw({ target: 'TrentService.CreateCustomKeyStore', body: '{"CustomKeyStoreName":"x"}' });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ __type: 'UnsupportedOperationException', message: expect.stringContaining('custom key stores are not offered') });
    const replicate = await failure(ctx.kms.send(new ReplicateKeyCommand({ KeyId: '11111111-2222-3333-4444-555555555555', ReplicaRegion: 'eu-west-1' })));
    expect(replicate).toMatchObject({ name: 'UnsupportedOperationException', message: expect.stringContaining('multi-Region') });
    // Not a KMS target: still unknown.
    expect((await raw({ target: 'CofferAdmin.ReplicateKey' })).body.__type).toBe('UnknownOperationException');
  });

  it('DescribeCustomKeyStores lists none (every key is in the configured HSM), refuses a named store and any marker as AWS does, and is authorized and audited', async () => {
    const all = await ctx.kms.send(new DescribeCustomKeyStoresCommand({}));
    expect(all.CustomKeyStores).toEqual([]);
    expect(all.Truncated).toBe(false);
    const notFound = 'The request was rejected because AWS KMS cannot find a custom key store with the specified key store name or ID.';
    for (const filter of [{ CustomKeyStoreId: 'cks-1234567890abcdef0' }, { CustomKeyStoreName: 'ExampleKeyStore' }]) {
      expect(await failure(ctx.kms.send(new DescribeCustomKeyStoresCommand(filter)))).toEqual({ name: 'CustomKeyStoreNotFoundException', message: notFound, status: 400 });
    }
    expect(await failure(ctx.kms.send(new DescribeCustomKeyStoresCommand({ Marker: 'x' })))).toMatchObject({ name: 'InvalidMarkerException', message: expect.stringContaining('marker that specifies where pagination') });
    expect((await failure(ctx.kms.send(new DescribeCustomKeyStoresCommand({ Limit: 0 })))).name).toBe('ValidationException');
    // A user whose policy allows kms:DescribeCustomKeyStores gets the list; one without it is refused.
    const allowed = await newUser(ctx.server.url, ADMIN, 'cks-reader');
    await ok(ctx.server.url, ADMIN, 'PutUserPolicy', {
      UserName: 'cks-reader', PolicyName: 'read',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:DescribeCustomKeyStores', Resource: '*' }] }),
    });
    expect((await ctx.server.client(allowed).send(new DescribeCustomKeyStoresCommand({}))).CustomKeyStores).toEqual([]);
    const denied = await newUser(ctx.server.url, ADMIN, 'cks-nobody');
    expect((await failure(ctx.server.client(denied).send(new DescribeCustomKeyStoresCommand({})))).name).toBe('AccessDeniedException');
    const audit = await raw({ target: 'CofferAudit.LookupEvents', body: JSON.stringify({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeCustomKeyStores' }] }) });
    const outcomes = (audit.body.Events as { CloudTrailEvent: string }[]).map((e) => (JSON.parse(e.CloudTrailEvent) as { errorCode?: string }).errorCode ?? 'ok');
    expect(new Set(outcomes)).toEqual(new Set(['ok', 'CustomKeyStoreNotFoundException', 'InvalidMarkerException', 'ValidationException', 'AccessDeniedException']));
  });

  it('malformed JSON gets SerializationException; a wrong member type too', async () => {
    for (const body of ['{', '[]', '"x"', 'null', '{"Limit": "ten"}']) {
      const r = await raw({ target: 'TrentService.ListKeys', body });
      expect(r.status, body).toBe(400);
      expect(r.body.__type, body).toBe('SerializationException');
    }
  });

  it('a missing required member gets ValidationException naming it', async () => {
    const r = await raw({ target: 'TrentService.DescribeKey', body: '{}' });
    expect(r.body).toEqual({
      __type: 'ValidationException',
      message: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    });
  });

  it('a blob that is not base64 gets SerializationException', async () => {
    const r = await raw({ target: 'TrentService.Decrypt', body: '{"CiphertextBlob":"***not base64***"}' });
    expect(r.body.__type).toBe('SerializationException');
  });

  it('an oversized body is refused with 413 and no stack trace', async () => {
    const r = await raw({ target: 'TrentService.ListKeys', body: JSON.stringify({ Marker: 'x'.repeat(70_000) }) });
    expect(r.status).toBe(413);
    expect(JSON.stringify(r.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('other paths answer 404 with an AWS-style body', async () => {
    const res = await fetch(`${ctx.server.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { __type: string }).__type).toBe('UnknownOperationException');
  });
});

describe('health', () => {
  it('answers 200 {"status":"ok"} while the token and the database answer', async () => {
    const res = await fetch(`${ctx.server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers 503 when the database is gone', async () => {
    const own = await createTestDatabase({ allowPglite: false });
    if (!own) return expect.fail('this test needs a Postgres server');
    const s = await startCoffer({ databaseUrl: own.url });
    try {
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      await own.drop();
      const res = await fetch(`${s.url}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable', hsm: true, database: false });
      // And requests fail with a retryable server error, not a crash.
      const c = s.client();
      const e = await failure(c.send(new CreateKeyCommand({})));
      expect(['DependencyTimeoutException', 'KMSInternalException']).toContain(e.name);
      c.destroy();
      expect(s.child.exitCode).toBeNull();
    } finally {
      await s.stop();
    }
  });
});

describe('connections', () => {
  /** GET /healthz through the agent: the keep-alive header and whether the request went out on a pooled socket. */
  function healthz(agent: Agent): Promise<{ keepAlive: string | string[] | undefined; reusedSocket: boolean }> {
    return new Promise((resolve, reject) => {
      const req = request(`${ctx.server.url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ keepAlive: res.headers['keep-alive'], reusedSocket: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it("an idle keep-alive connection outlives Node's 5-second default, so a pooled client socket is not closed under it", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await healthz(agent);
      expect(first).toEqual({ keepAlive: 'timeout=65', reusedSocket: false });
      await new Promise((r) => setTimeout(r, 6000));
      expect(await healthz(agent)).toMatchObject({ reusedSocket: true });
    } finally {
      agent.destroy();
    }
  }, 20_000);
});

describe('configuration', () => {
  // Run asynchronously: a spawnSync here blocked this process's event loop for the child's whole start (over 5 s on
  // a loaded CI machine), the server meanwhile closed the AWS SDK client's idle pooled socket, and the next test's
  // first call went out on that dead socket ("socket hang up").
  it('refuses to start with one message per bad value, and never prints a PIN', async () => {
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const env = {
        PATH: process.env.PATH,
        COFFER_PORT: 'abc',
        COFFER_ACCOUNT_ID: '12',
        COFFER_PKCS11_MODULE: '/nonexistent.so',
        COFFER_PKCS11_PIN: 'pin-canary-93847',
        COFFER_ADMIN_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      };
      const child = execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'main.ts')], { cwd: ROOT, env, encoding: 'utf8' }, (_e, stdout, stderr) =>
        resolve({ status: child.exitCode, stdout, stderr }),
      );
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('COFFER_PORT');
    expect(r.stderr).toContain('COFFER_ACCOUNT_ID');
    expect(r.stderr).toContain('COFFER_PKCS11_TOKEN_LABEL');
    expect(r.stderr).toContain('COFFER_ADMIN_SECRET_ACCESS_KEY');
    expect(r.stderr + r.stdout).not.toContain('pin-canary-93847');
  });
});

describe('audit', () => {
  it('records allowed and refused requests with caller, key and context keys, and no secrets', async () => {
    if (!ctx.db?.url) return expect.fail('the audit test reads the rows from Postgres; no Postgres server answered');
    const canary = 'plaintext-canary-5521';
    const key = (await ctx.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await ctx.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode(canary), EncryptionContext: { tenant: 'ctx-value-canary' } }));
    await raw({ target: 'TrentService.ListKeys', credentials: { ...ADMIN, secretAccessKey: 'z'.repeat(40) } });
    const sql = postgres(ctx.db.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select * from audit_events order by seq`;
      const enc = rows.find((r) => r.operation === 'Encrypt' && r.key_arn === key.Arn);
      expect(enc).toMatchObject({
        outcome: 'Success', caller_arn: 'arn:aws:iam::111122223333:user/admin', access_key_id: ADMIN.accessKeyId, error_code: null,
      });
      expect(enc!.encryption_context_keys).toEqual(['tenant']);
      expect(enc!.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(enc!.source_ip).toMatch(/127\.0\.0\.1/);
      const refused = rows.find((r) => r.error_code === 'InvalidSignatureException');
      expect(refused).toMatchObject({ outcome: 'Failure', operation: 'ListKeys', caller_arn: null });
      const dump = JSON.stringify(rows);
      for (const secret of [canary, 'ctx-value-canary', ADMIN.secretAccessKey, Buffer.from(canary).toString('base64')]) {
        expect(dump).not.toContain(secret);
      }
      const keysDump = JSON.stringify(await sql`select * from access_keys`);
      expect(keysDump).not.toContain(ADMIN.secretAccessKey);
    } finally {
      await sql.end();
    }
  });
});
