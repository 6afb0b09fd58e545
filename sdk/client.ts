// CofferClient: one typed method per operation of the wire contract, SigV4-signed, with timeouts and safe retries.
import type { z } from 'zod';
import type { adminRequests } from './contract/admin.js';
import type { auditRequests } from './contract/audit.js';
import type { identityRequests } from './contract/identity.js';
import { FAMILIES, type AdminOperationName, type AuditOperationName, type IdentityOperationName, type TrentOperation, type trentRequests } from './contract/operations.js';
import { BLOB_MEMBERS, DATE_MEMBERS, type KmsResponses } from './contract/responses.js';
import type {
  AdminResponses, AuditResponses, IdentityResponses, KmsAccessResponses, KmsAsymmetricResponses, KmsImportResponses, KmsRotationResponses,
} from './contract/responses-families.js';
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

type BlobKeys = 'Plaintext' | 'CiphertextBlob' | 'Message' | 'Signature' | 'PublicKey' | 'Mac' | 'ImportToken' | 'EncryptedKeyMaterial';
type DateKeys = 'ValidTo' | 'StartTime' | 'EndTime';
type Or<T, U> = undefined extends T ? U | undefined : U;
/** A contract's input type with its blob members as bytes instead of base64 strings, and its timestamps as Date (or epoch seconds). */
export type WithBytes<T> = { [K in keyof T]: K extends BlobKeys ? Or<T[K], Uint8Array> : K extends DateKeys ? Or<T[K], Date | number> : T[K] };
/** The input of a TrentService. operation (every KMS family). */
export type KmsInput<O extends TrentOperation> = WithBytes<z.input<(typeof trentRequests)[O]>>;
export type IdentityInput<O extends IdentityOperationName> = WithBytes<z.input<(typeof identityRequests)[O]>>;
export type AuditInput<O extends AuditOperationName> = WithBytes<z.input<(typeof auditRequests)[O]>>;
export type AdminInput<O extends AdminOperationName> = z.input<(typeof adminRequests)[O]>;
/** Every TrentService. response shape. */
export type TrentResponses = KmsResponses & KmsAsymmetricResponses & KmsRotationResponses & KmsImportResponses & KmsAccessResponses;
export type MethodName<O extends string> = Uncapitalize<O>;
/** A method whose input may be left out when none of its members is required. */
type Method<I, R> = (...input: Record<string, never> extends I ? [input?: I] : [input: I]) => Promise<R>;
type KmsMethods = { [O in TrentOperation as MethodName<O>]: Method<KmsInput<O>, TrentResponses[O]> };
/** `client.identity.createUser(...)`: the CofferIdentity. operations (IAM's shapes). */
export type IdentityMethods = { [O in IdentityOperationName as MethodName<O>]: Method<IdentityInput<O>, IdentityResponses[O]> };
/** `client.audit.lookupEvents(...)`: the CofferAudit. operations (CloudTrail's shapes). */
export type AuditMethods = { [O in AuditOperationName as MethodName<O>]: Method<AuditInput<O>, AuditResponses[O]> };
/** `client.admin.rotateDomainKey()`: the CofferAdmin. operations (the system account's). */
export type AdminMethods = { [O in AdminOperationName as MethodName<O>]: Method<AdminInput<O>, AdminResponses[O]> };

export const methodName = <O extends string>(op: O): MethodName<O> => (op[0]!.toLowerCase() + op.slice(1)) as MethodName<O>;

/** Request body: bytes become base64, dates epoch seconds, undefined members are dropped. */
export function encodeRequest(input: object): string {
  // The holder's raw value: a Buffer (a Date) has already been through its toJSON by the time `v` arrives.
  return JSON.stringify(input, function (this: Record<string, unknown>, k: string, v: unknown) {
    const raw = this[k];
    if (raw instanceof Date) return raw.getTime() / 1000;
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
  call<O extends TrentOperation>(operation: O, input: KmsInput<O>): Promise<TrentResponses[O]> {
    return this.send(`TrentService.${operation}`, input) as Promise<TrentResponses[O]>;
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

function methodsOf(transport: CofferTransport, prefix: string, operations: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(operations.map((op) => [methodName(op), (input?: object) => transport.send(`${prefix}${op}`, input ?? {})]));
}

for (const { prefix, namespace, operations } of FAMILIES) {
  if (namespace === null) {
    for (const op of operations) {
      Object.defineProperty(CofferTransport.prototype, methodName(op), {
        value: function (this: CofferTransport, input?: object) {
          return this.send(`${prefix}${op}`, input ?? {});
        },
        writable: true,
        configurable: true,
      });
    }
    continue;
  }
  Object.defineProperty(CofferTransport.prototype, namespace, {
    get(this: CofferTransport) {
      const methods = methodsOf(this, prefix, operations);
      Object.defineProperty(this, namespace, { value: methods });
      return methods;
    },
    configurable: true,
  });
}

/**
 * The client: the transport plus one method per operation of the contract: `createKey`, `encrypt`, `sign`, `createGrant`,
 * ... for TrentService. (AWS KMS); `identity.createUser`, ... for CofferIdentity.; `audit.lookupEvents`, ... for CofferAudit.;
 * `admin.describeDomainKeys`, ... for CofferAdmin.
 */
export type CofferClient = CofferTransport & KmsMethods & { readonly identity: IdentityMethods; readonly audit: AuditMethods; readonly admin: AdminMethods };
export const CofferClient = CofferTransport as unknown as new (opts?: CofferClientOptions) => CofferClient;
