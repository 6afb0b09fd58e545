// The retry policy against a local HTTP server that misbehaves on purpose: throttling, 5xx, dropped connections, slowness.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CofferClient } from '../../sdk/client.js';
import type { CofferServiceError} from '../../sdk/errors.js';
import { CofferNetworkError, KMSInternalException, ThrottlingException } from '../../sdk/errors.js';
import { FAMILIES } from '../../sdk/contract/operations.js';
import { backoffDelay, isIdempotent, NOT_SAFE, SAFE_OPERATIONS } from '../../sdk/retry.js';

type Answer = (n: number, req: IncomingMessage, res: ServerResponse) => void;
let server: Server | undefined;
const targets: string[] = [];

async function serve(answer: Answer): Promise<string> {
  targets.length = 0;
  server = createServer((req, res) => {
    targets.push(String(req.headers['x-amz-target']));
    req.resume();
    req.on('end', () => answer(targets.length, req, res));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

const json = (res: ServerResponse, status: number, body: object) => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${targets.length}` });
  res.end(JSON.stringify(body));
};
const throttle = (res: ServerResponse) => json(res, 400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
const client = (endpoint: string, extra: object = {}) =>
  new CofferClient({ endpoint, credentials: { accessKeyId: 'A', secretAccessKey: 'S' }, env: {}, baseDelayMs: 1, maxDelayMs: 5, ...extra });

describe('retries', () => {
  it('retries ThrottlingException N times, then returns the answer', async () => {
    const url = await serve((n, _q, res) => (n <= 3 ? throttle(res) : json(res, 200, { Plaintext: Buffer.from('ok').toString('base64') })));
    const r = await client(url, { maxAttempts: 4 }).generateRandom({ NumberOfBytes: 2 });
    expect(Buffer.from(r.Plaintext!).toString()).toBe('ok');
    expect(targets).toEqual(Array(4).fill('TrentService.GenerateRandom'));
  });

  it('gives up after maxAttempts with the last error, its request id and retryable flag', async () => {
    const url = await serve((_n, _q, res) => throttle(res));
    const e = await client(url, { maxAttempts: 3 }).describeKey({ KeyId: 'k' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ThrottlingException);
    expect((e as CofferServiceError).requestId).toBe('req-3');
    expect((e as CofferServiceError).retryable).toBe(true);
    expect(targets.length).toBe(3);
  });

  it('retries 5xx errors (KMSInternalException, DependencyTimeoutException) for safe operations', async () => {
    const url = await serve((n, _q, res) =>
      n === 1 ? json(res, 500, { __type: 'KMSInternalException', message: 'x' }) : n === 2 ? json(res, 503, { __type: 'DependencyTimeoutException', message: 'y' }) : json(res, 200, { KeyId: 'arn' }));
    expect((await client(url).encrypt({ KeyId: 'k', Plaintext: new Uint8Array([1]) })).KeyId).toBe('arn');
    expect(targets.length).toBe(3);
  });

  it('retries a dropped connection for safe operations', async () => {
    const url = await serve((n, req, res) => (n === 1 ? req.socket.destroy() : json(res, 200, { Keys: [] })));
    expect(await client(url).listKeys({})).toEqual({ Keys: [] });
    expect(targets.length).toBe(2);
  });

  it('does not retry a non-idempotent call after it may have reached the server (5xx, dropped connection)', async () => {
    let url = await serve((_n, _q, res) => json(res, 500, { __type: 'KMSInternalException', message: 'boom' }));
    expect(await client(url, { maxAttempts: 5 }).createKey({}).catch((x: unknown) => x)).toBeInstanceOf(KMSInternalException);
    expect(targets).toEqual(['TrentService.CreateKey']);
    await new Promise((r) => server!.close(r));
    url = await serve((_n, req) => req.socket.destroy());
    expect(await client(url, { maxAttempts: 5 }).scheduleKeyDeletion({ KeyId: 'k' }).catch((x: unknown) => x)).toBeInstanceOf(CofferNetworkError);
    expect(targets).toEqual(['TrentService.ScheduleKeyDeletion']);
  });

  it('retries a throttled non-idempotent call (throttling means the request was refused before any work)', async () => {
    const url = await serve((n, _q, res) => (n === 1 ? throttle(res) : json(res, 200, { KeyMetadata: { KeyId: 'k1', CreationDate: 1700000000 } })));
    const r = await client(url).createKey({});
    expect(r.KeyMetadata!.CreationDate).toEqual(new Date(1700000000_000));
    expect(targets.length).toBe(2);
  });

  it('does not retry client errors, and honours maxAttempts 1', async () => {
    const url = await serve((_n, _q, res) => json(res, 400, { __type: 'NotFoundException', message: 'no' }));
    await expect(client(url).describeKey({ KeyId: 'k' })).rejects.toThrow('no');
    expect(targets.length).toBe(1);
    const url2 = await serve((_n, _q, res) => throttle(res));
    await expect(client(url2, { maxAttempts: 1 }).describeKey({ KeyId: 'k' })).rejects.toBeInstanceOf(ThrottlingException);
    expect(targets.length).toBe(1);
  });

  it('times out a slow answer and retries it when safe', async () => {
    const url = await serve((n, _q, res) => (n === 1 ? undefined : json(res, 200, {})));
    await client(url, { timeoutMs: 200 }).enableKey({ KeyId: 'k' });
    expect(targets.length).toBe(2);
  });

  it('retries a refused connection even for non-idempotent calls (the request was never sent)', async () => {
    const url = await serve(() => undefined);
    await new Promise((r) => server!.close(r));
    server = undefined;
    let calls = 0;
    const counting: typeof fetch = (...a) => (calls++, fetch(...a));
    const e = await client(url, { maxAttempts: 3, fetch: counting }).createKey({}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CofferNetworkError);
    expect(calls).toBe(3);
    expect((e as CofferNetworkError).notSent).toBe(true);
  });

  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelay(1, { baseDelayMs: 100 }, () => 0.999)).toBe(99);
    expect(backoffDelay(4, { baseDelayMs: 100 }, () => 0.5)).toBe(400);
    expect(backoffDelay(20, { baseDelayMs: 100, maxDelayMs: 2000 }, () => 0.999)).toBe(1998);
    expect(backoffDelay(3, {}, () => 0)).toBe(0);
    expect(isIdempotent('Decrypt')).toBe(true);
    expect(isIdempotent('CreateKey')).toBe(false);
    expect(isIdempotent('ScheduleKeyDeletion')).toBe(false);
  });

  it('classifies every operation of every family as safe to repeat or not, exactly once', () => {
    const all = new Set(FAMILIES.flatMap((f) => f.operations));
    for (const op of all) expect(SAFE_OPERATIONS.has(op) !== NOT_SAFE.has(op), op).toBe(true);
    expect([...SAFE_OPERATIONS, ...NOT_SAFE].filter((op) => !all.has(op))).toEqual([]);
    for (const op of ['CreateGrant', 'RotateKeyOnDemand', 'CreateUser', 'CreateAccessKey', 'ImportKeyMaterial', 'CreateCheckpoint', 'RevokeGrant']) {
      expect(isIdempotent(op), op).toBe(false);
    }
    for (const op of ['Sign', 'Verify', 'GenerateMac', 'EnableKeyRotation', 'ListGrants', 'PutUserPolicy', 'LookupEvents', 'GetParametersForImport']) {
      expect(isIdempotent(op), op).toBe(true);
    }
  });

  it('does not repeat a CreateGrant whose answer was a 5xx, and does repeat a Sign', async () => {
    const url = await serve((n, _q, res) => (n <= 2 ? json(res, 500, { __type: 'KMSInternalException', message: 'x' }) : json(res, 200, {})));
    expect(await client(url).createGrant({ KeyId: 'k', GranteePrincipal: 'arn:aws:iam::111122223333:user/u', Operations: ['Decrypt'] }).catch((x: unknown) => x)).toBeInstanceOf(KMSInternalException);
    expect(targets).toEqual(['TrentService.CreateGrant']);
    await client(url).sign({ KeyId: 'k', Message: new Uint8Array([1]), SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(targets).toEqual(['TrentService.CreateGrant', 'TrentService.Sign', 'TrentService.Sign']);
  });
});
