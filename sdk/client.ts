// CofferClient: one typed method per operation of the wire contract, SigV4-signed, with timeouts and safe retries.
import type { z } from 'zod';
import { KMS_OPERATIONS, type kmsRequests, type KmsOperation } from './contract/kms.js';
import { BLOB_MEMBERS, DATE_MEMBERS, type KmsResponses } from './contract/responses.js';
import { resolveCredentials, resolveEndpoint, resolveRegion, type Env } from './credentials.js';
import { CofferNetworkError, CofferServiceError, serviceError } from './errors.js';
import { backoffDelay, isIdempotent, sleep, type RetryOptions } from './retry.js';
import { signRequest, type Credentials } from './sigv4.js';

export interface CofferClientOptions extends RetryOptions {
  /** e.g. http://127.0.0.1:8080; default COFFER_ENDPOINT. */
  endpoint?: string;
  /** Default AWS_REGION, else us-east-1. */
  region?: string;
  credentials?: Credentials;
  /** A profile of the shared credentials file (default AWS_PROFILE, else "default"). */
  profile?: string;
  /** Per attempt, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Environment to read defaults from (default process.env). */
  env?: Env;
  fetch?: typeof fetch;
}

type BlobKeys = 'Plaintext' | 'CiphertextBlob' | 'Message' | 'Signature' | 'PublicKey' | 'Mac';
/** A contract's input type with its blob members as bytes instead of base64 strings. */
export type WithBytes<T> = { [K in keyof T]: K extends BlobKeys ? (undefined extends T[K] ? Uint8Array | undefined : Uint8Array) : T[K] };
export type KmsInput<O extends KmsOperation> = WithBytes<z.input<(typeof kmsRequests)[O]>>;
export type MethodName<O extends string> = Uncapitalize<O>;
type KmsMethods = { [O in KmsOperation as MethodName<O>]: (input: KmsInput<O>) => Promise<KmsResponses[O]> };

export const methodName = <O extends string>(op: O): MethodName<O> => (op[0]!.toLowerCase() + op.slice(1)) as MethodName<O>;

/** Request body: bytes become base64, undefined members are dropped. */
export function encodeRequest(input: object): string {
  // The holder's raw value: a Buffer has already become {type, data} through its toJSON by the time `v` arrives.
  return JSON.stringify(input, function (this: Record<string, unknown>, k: string, v: unknown) {
    const raw = this[k];
    return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') : v;
  });
}

/** Response body: epoch seconds to Date and base64 to bytes, by member name, at any depth. */
export function decodeResponse(text: string): Record<string, unknown> {
  if (!text) return {};
  return JSON.parse(text, (k, v: unknown) => {
    if (typeof v === 'number' && DATE_MEMBERS.has(k)) return new Date(v * 1000);
    if (typeof v === 'string' && BLOB_MEMBERS.has(k)) return new Uint8Array(Buffer.from(v, 'base64'));
    return v;
  }) as Record<string, unknown>;
}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function networkError(e: unknown): CofferNetworkError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return new CofferNetworkError('The request timed out', false, { cause: e });
  const code = err.cause?.code;
  return new CofferNetworkError(`Network error: ${code ?? err.cause?.message ?? err.message ?? 'unknown'}`, code !== undefined && NOT_SENT.has(code), { cause: e });
}

/** The transport: signing, timeouts, retries. CofferClient adds a typed method per operation of the contract. */
export class CofferTransport {
  readonly endpoint: URL;
  readonly region: string;
  private readonly credentials: Credentials;
  private readonly opts: CofferClientOptions;
  private readonly fetchFn: typeof fetch;

  constructor(opts: CofferClientOptions = {}) {
    const env = opts.env ?? process.env;
    this.opts = opts;
    this.endpoint = resolveEndpoint(opts.endpoint, env);
    this.region = resolveRegion(opts.region, env);
    this.credentials = resolveCredentials({ credentials: opts.credentials, profile: opts.profile }, env);
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** Sends a KMS operation by name (TrentService.<op>). */
  call<O extends KmsOperation>(operation: O, input: KmsInput<O>): Promise<KmsResponses[O]> {
    return this.send(`TrentService.${operation}`, input) as Promise<KmsResponses[O]>;
  }

  /**
   * Sends any operation by full target (e.g. "CofferIdentity.CreateUser"): the way to reach operations that have no
   * typed method yet. Bytes in the input are sent as base64; dates and blobs of the answer are decoded.
   */
  async send(target: string, input: object): Promise<Record<string, unknown>> {
    const operation = target.slice(target.indexOf('.') + 1);
    const safe = isIdempotent(operation);
    const body = encodeRequest(input);
    const maxAttempts = Math.max(1, this.opts.maxAttempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(target, body);
      } catch (e) {
        if (attempt >= maxAttempts || !this.mayRetry(e, safe)) throw e;
        await sleep(backoffDelay(attempt, this.opts));
      }
    }
  }

  private mayRetry(e: unknown, safe: boolean): boolean {
    if (e instanceof CofferNetworkError) return safe || e.notSent;
    if (e instanceof CofferServiceError) return e.retryable && (safe || e.name === 'ThrottlingException');
    return false;
  }

  private async attempt(target: string, body: string): Promise<Record<string, unknown>> {
    const url = new URL('/', this.endpoint);
    const headers = signRequest({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
      body,
      region: this.region,
      service: 'kms',
      credentials: this.credentials,
    });
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
      text = await res.text();
    } catch (e) {
      throw networkError(e);
    }
    const requestId = res.headers.get('x-amzn-requestid') ?? undefined;
    if (res.ok) return decodeResponse(text);
    let parsed: { __type?: string; message?: string; Message?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not JSON (a proxy's page): the status speaks
    }
    const type = parsed.__type ?? res.headers.get('x-amzn-errortype') ?? undefined;
    throw serviceError(type, { message: parsed.message ?? parsed.Message ?? `HTTP ${res.status}`, status: res.status, requestId });
  }
}

for (const op of KMS_OPERATIONS) {
  Object.defineProperty(CofferTransport.prototype, methodName(op), {
    value: function (this: CofferTransport, input: object) {
      return this.send(`TrentService.${op}`, input ?? {});
    },
    writable: true,
    configurable: true,
  });
}

/** The client: the transport plus `createKey`, `encrypt`, ... one method per KMS operation of the contract. */
export type CofferClient = CofferTransport & KmsMethods;
export const CofferClient = CofferTransport as unknown as new (opts?: CofferClientOptions) => CofferClient;
