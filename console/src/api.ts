// The console's client: one signed POST / per operation, errors kept as the service names them.
import { signRequest, type Credentials } from './sigv4.js';

/** An error answered by the service: `name` is its __type (e.g. MalformedPolicyDocumentException). */
export class ServiceError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export type Json = Record<string, unknown>;

/** Holds the secret in memory only: it is gone with this object (reload, sign-out). */
export class Api {
  constructor(
    private readonly credentials: Credentials,
    readonly region: string,
    private readonly origin: string = location.origin,
  ) {}

  get accessKeyId(): string {
    return this.credentials.accessKeyId;
  }

  kms<T = Json>(operation: string, input: Json = {}): Promise<T> {
    return this.send(`TrentService.${operation}`, input) as Promise<T>;
  }

  identity<T = Json>(operation: string, input: Json = {}): Promise<T> {
    return this.send(`CofferIdentity.${operation}`, input) as Promise<T>;
  }

  audit<T = Json>(operation: string, input: Json = {}): Promise<T> {
    return this.send(`CofferAudit.${operation}`, input) as Promise<T>;
  }

  async send(target: string, input: Json): Promise<unknown> {
    const body = JSON.stringify(input);
    const headers = await signRequest({
      origin: this.origin,
      path: '/',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
      body,
      region: this.region,
      service: 'kms',
      credentials: this.credentials,
    });
    const res = await fetch(new URL('/', this.origin), { method: 'POST', headers, body, credentials: 'omit', cache: 'no-store' });
    const text = await res.text();
    if (res.ok) return text ? JSON.parse(text) : {};
    let parsed: { __type?: string; message?: string; Message?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not JSON: the status speaks
    }
    const type = (parsed.__type ?? res.headers.get('x-amzn-errortype') ?? `HTTP${res.status}`).replace(/^.*#/, '').replace(/:.*$/, '');
    throw new ServiceError(type, parsed.message ?? parsed.Message ?? `HTTP ${res.status}`, res.status);
  }
}

/** "Name: message" as the console shows a failure. */
export function describeFailure(e: unknown): string {
  if (e instanceof ServiceError) return `${e.name}: ${e.message}`;
  if (e instanceof Error) return e.name === 'Error' ? e.message : `${e.name}: ${e.message}`;
  return String(e);
}
