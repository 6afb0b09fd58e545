// The AWS JSON 1.1 endpoint: target dispatch, body limit, SigV4, JSON parsing, validation, error rendering.
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { requestParameters } from '../../core/audit.js';
import { KmsError } from '../../core/errors.js';
import { recordRefusal, toKmsError } from '../../core/services/audited.js';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import type { ResolvedCredential } from '../../core/services/credentials.js';
import type { Caller } from '../../core/model.js';
import { OPERATIONS, type Operation } from '../operations/index.js';
import type { Logger } from '../log.js';
import type { QuotaLimiter } from '../quotas.js';
import { describeError } from '../log.js';
import { errorBody, HTTP_STATUS } from './errors.js';
import { clientOrigin, fromForwarded, TRUST_NONE, type ClientOrigin, type ForwardedHeader, type ProxyTrust } from './forwarded.js';
import { verifySigV4 } from './sigv4.js';
import { validateRequest } from './validate.js';

export const JSON_11 = 'application/x-amz-json-1.1';
export const MAX_BODY_BYTES = 64 * 1024;

export interface DispatchDeps {
  services: ServiceDeps;
  lookupCredential(accessKeyId: string): Promise<ResolvedCredential | null>;
  log: Logger;
  /** Per-account request-rate quotas (server/quotas.ts); none when absent. */
  quotas?: QuotaLimiter;
  /** The proxies whose forwarding header is believed (COFFER_TRUSTED_PROXIES); none when absent. */
  trustProxy?: ProxyTrust;
  /** Which header those proxies set (COFFER_FORWARDED_HEADER); X-Forwarded-For with X-Forwarded-Proto when absent. */
  forwardedHeader?: ForwardedHeader;
}

/** AWS KMS operations Coffer does not serve, and why: named as such rather than as unknown operations. */
const NOT_OFFERED: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    ['CreateCustomKeyStore', 'ConnectCustomKeyStore', 'DeleteCustomKeyStore', 'DisconnectCustomKeyStore', 'UpdateCustomKeyStore']
      .map((op) => [op, 'custom key stores are not offered: every key lives in the HSM this server is configured with']),
  ),
  ReplicateKey: 'multi-Region keys are not offered',
  UpdatePrimaryRegion: 'multi-Region keys are not offered',
  Encapsulate: 'ML-KEM keys are not offered',
  Decapsulate: 'ML-KEM keys are not offered',
};

function operationOf(target: string | undefined): Operation {
  if (target && Object.prototype.hasOwnProperty.call(OPERATIONS, target)) return OPERATIONS[target] as Operation;
  const name = target?.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
  if (Object.hasOwn(NOT_OFFERED, name)) throw new KmsError('UnsupportedOperationException', `${name} is not supported by this server: ${NOT_OFFERED[name]}.`);
  throw new KmsError('UnknownOperationException', `Unknown operation ${(target ?? '').slice(0, 128)}`.trim());
}

async function readBody(c: Context): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length') ?? '0');
  const tooLarge = () => new KmsError('RequestEntityTooLargeException', `Request body must be at most ${MAX_BODY_BYTES} bytes.`);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.length > MAX_BODY_BYTES) throw tooLarge();
  return body;
}

/** Stateless between calls (no `stream` option), so one serves every request. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(body: Uint8Array): unknown {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(UTF8.decode(body));
  } catch {
    throw new KmsError('SerializationException', 'The request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new KmsError('SerializationException', 'The request body must be a JSON object.');
  }
  return parsed;
}

/** The node:http request behind the context when @hono/node-server serves it; absent under app.request() in tests. */
function incomingOf(c: Context): { url?: string; rawHeaders?: string[] } | undefined {
  return (c.env as { incoming?: { url?: string; rawHeaders?: string[] } } | undefined)?.incoming;
}

const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * Header names (lowercased) to values as a fetch Headers would hold them, straight from node's raw header list:
 * values stripped of surrounding HTTP whitespace, repeated headers joined with ", ", HTTP/2 pseudo-headers left out.
 * Iterating @hono/node-server's Headers instead materialises a whole fetch Headers per request (about 3% of a
 * request's CPU in bench/profile-generaterandom.txt); its lazy header() lookups stay cheap and are kept.
 */
export function headersFromRaw(rawHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.startsWith(':')) continue;
    const key = name.toLowerCase();
    const value = (rawHeaders[i + 1] as string).replace(HTTP_WHITESPACE, '');
    out[key] = Object.hasOwn(out, key) ? `${out[key]}, ${value}` : value;
  }
  return out;
}

function headersOf(c: Context): Record<string, string> {
  const raw = incomingOf(c)?.rawHeaders;
  if (raw) return headersFromRaw(raw);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  c.req.raw.headers.forEach((v, k) => {
    out[k.toLowerCase()] = v;
  });
  return out;
}

/** Path and query as SigV4 canonicalises them; the KMS endpoint's usual "/" skips parsing a URL (about 1.6%). */
function pathAndQuery(c: Context): { path: string; query: string } {
  if (incomingOf(c)?.url === '/') return { path: '/', query: '' };
  const url = new URL(c.req.url);
  return { path: url.pathname, query: url.search.replace(/^\?/, '') };
}

function peerAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

function originOf(deps: DispatchDeps, c: Context): ClientOrigin {
  const trust = deps.trustProxy ?? TRUST_NONE;
  if (trust === TRUST_NONE) return clientOrigin(peerAddress(c), undefined, undefined, trust);
  if (deps.forwardedHeader === 'forwarded') {
    const { forwardedFor, forwardedProto } = fromForwarded(c.req.header('forwarded'));
    return clientOrigin(peerAddress(c), forwardedFor, forwardedProto, trust);
  }
  return clientOrigin(peerAddress(c), c.req.header('x-forwarded-for'), c.req.header('x-forwarded-proto'), trust);
}

async function authenticate(deps: DispatchDeps, c: Context, body: Uint8Array): Promise<Caller> {
  let caller: Caller | null = null;
  await verifySigV4(
    { method: c.req.method, ...pathAndQuery(c), headers: headersOf(c), body },
    { region: deps.services.region, service: 'kms', now: deps.services.clock.now() },
    async (accessKeyId) => {
      const cred = await deps.lookupCredential(accessKeyId);
      caller = cred?.caller ?? null;
      return cred?.secretAccessKey ?? null;
    },
  );
  if (caller === null) throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  return caller;
}

/**
 * The response, its headers a plain object: @hono/node-server writes such a Response straight to the socket, where
 * c.header() or several headers through c.body() build a fetch Headers it must convert back (undici's Headers).
 */
function answer(status: number, body: string, headers: Record<string, string>): Response {
  return new Response(body, { status, headers });
}

export function kmsEndpoint(deps: DispatchDeps) {
  return async (c: Context) => {
    const requestId = randomUUID();
    const origin = originOf(deps, c);
    const ctx: Omit<RequestContext, 'caller'> & { caller: Caller | null } = {
      requestId,
      operation: (c.req.header('x-amz-target') ?? '').slice(0, 128),
      caller: null,
      sourceIp: origin.sourceIp,
      secureTransport: origin.secureTransport,
      userAgent: c.req.header('user-agent') ?? null,
      audit: { recorded: false },
    };
    try {
      const op = operationOf(c.req.header('x-amz-target'));
      ctx.operation = op.name;
      const body = await readBody(c);
      ctx.caller = await authenticate(deps, c, body);
      deps.quotas?.check(ctx.caller.accountId, op.name);
      const json = parseJson(body);
      ctx.requestParameters = requestParameters(json);
      const input = validateRequest(op.schema, json);
      const result = await op.handler(deps.services, ctx as RequestContext, input);
      return answer(200, JSON.stringify(result), { 'content-type': JSON_11, 'x-amzn-RequestId': requestId });
    } catch (e) {
      return renderError(deps, ctx, e);
    }
  };
}

async function renderError(deps: DispatchDeps, ctx: RequestContext | (Omit<RequestContext, 'caller'> & { caller: Caller | null }), e: unknown) {
  let error = toKmsError(e);
  if (error.code === 'KMSInternalException' || error.fault === 'server') {
    deps.log.error('request failed', { requestId: ctx.requestId, operation: ctx.operation, error: describeError(e) });
  }
  if (!ctx.audit.recorded) {
    try {
      await recordRefusal(deps.services, ctx, error);
    } catch (auditError) {
      deps.log.error('audit write failed', { requestId: ctx.requestId, error: describeError(auditError) });
      error = toKmsError(auditError);
    }
  }
  return answer(HTTP_STATUS[error.code], JSON.stringify(errorBody(error)), {
    'content-type': JSON_11,
    'x-amzn-RequestId': ctx.requestId,
    'x-amzn-ErrorType': error.code,
  });
}
