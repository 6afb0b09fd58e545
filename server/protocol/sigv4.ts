// AWS Signature Version 4 verification for the KMS JSON protocol, framework-free so it is unit-testable.
// The canonical request is built the way @smithy/signature-v4 (the AWS SDK for JavaScript v3) builds it for
// non-S3 services, and the errors carry the names and messages AWS answers with.

import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { KmsError, type ErrorCode } from '../../core/errors.js';

export interface SignedRequest {
  method: string;
  /** The request-target path exactly as received on the wire (still percent-encoded), without the query. */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  /** Lower-cased names, values as received; multiple values joined by ','. */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface SigV4Expectation {
  region: string;
  /** 'kms' */
  service: string;
  now: Date;
  /** Allowed clock skew either way; default 15 minutes. */
  maxSkewMs?: number;
}

export interface SigV4Credential {
  accessKeyId: string;
  /** yyyymmdd, from the credential scope */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** The request date in ISO-8601 basic format (yyyymmddTHHMMSSZ), from X-Amz-Date or Date. */
  amzDate: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_TTL_S = 7 * 24 * 60 * 60;

// AWS answers a structurally incomplete signature with IncompleteSignatureException.
const INCOMPLETE: ErrorCode = 'IncompleteSignatureException';

export const MISSING_TOKEN_MESSAGE = 'Missing Authentication Token';
export const UNRECOGNIZED_CLIENT_MESSAGE = 'The security token included in the request is invalid.';
export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
export const MISSING_DATE_MESSAGE =
  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
export const HOST_NOT_SIGNED_MESSAGE = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";

function invalid(message: string): KmsError {
  return new KmsError('InvalidSignatureException', message);
}
function incomplete(message: string): KmsError {
  return new KmsError(INCOMPLETE, message);
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** RFC 3986 encoding as the AWS SDK does it: encodeURIComponent plus !'()*. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  // '+' is a literal plus (RFC 3986), as the AWS SDKs encode a space as %20 and a plus as %2B.
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseQuery(query: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    out.push([safeDecode(name), safeDecode(value)]);
  }
  return out;
}

function queryParam(params: Array<[string, string]>, name: string): string | undefined {
  return params.find(([k]) => k === name)?.[1];
}

const BASIC_ISO = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** yyyyMMddTHHmmssZ of a Date. */
export function toAmzDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The last date parsed: a client's requests within one second carry the same X-Amz-Date. */
let lastAmzDate = '';
let lastAmzDateMs = 0;

/** Milliseconds since the epoch of a basic-format date, or null when it is not one (or rolls over). */
function parseAmzDate(s: string): number | null {
  if (s === lastAmzDate) return lastAmzDateMs;
  const m = BASIC_ISO.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  // Reject rolled-over values such as month 13 or hour 25.
  if (toAmzDate(new Date(t)) !== s) return null;
  lastAmzDate = s;
  lastAmzDateMs = t;
  return t;
}

function badDateFormat(got: string): KmsError {
  return incomplete(`Date must be in ISO-8601 'basic format'. Got '${got.slice(0, 64)}'. See http://en.wikipedia.org/wiki/ISO_8601`);
}

interface Parsed extends SigV4Credential {
  presigned: boolean;
  /** X-Amz-Expires of a presigned request, in seconds. */
  expiresS?: number;
  /** The scope's last element when it is not 'aws4_request'. */
  terminator?: string;
}

function parseScope(credential: string): { accessKeyId: string; date: string; region: string; service: string; terminator: string } {
  const parts = credential.replace(/\/+$/, '').split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    throw incomplete(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential.slice(0, 256)}'`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator };
}

function parseSignedHeaders(value: string): string[] {
  return value
    .split(';')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

function checkSignatureFormat(signature: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) {
    throw incomplete('Signature must be 64 hexadecimal characters.');
  }
  return signature.toLowerCase();
}

function parseInternal(req: SignedRequest): Parsed {
  const auth = header(req, 'authorization');
  const params = parseQuery(req.query);
  const presignedAlgorithm = queryParam(params, 'X-Amz-Algorithm');

  if (auth !== undefined && presignedAlgorithm !== undefined) {
    throw invalid("Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  }
  // As AWS does, an Authorization header that is not a SigV4 one counts as no authentication at all.
  if ((auth === undefined || !auth.trim().startsWith('AWS4-')) && presignedAlgorithm === undefined) {
    throw new KmsError('MissingAuthenticationTokenException', MISSING_TOKEN_MESSAGE);
  }

  if (auth !== undefined) {
    const trimmed = auth.trim();
    const space = trimmed.search(/\s/);
    const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
    const fields = new Map<string, string>();
    for (const item of (space < 0 ? '' : trimmed.slice(space + 1)).split(/[,\s]+/)) {
      if (item === '') continue;
      const eq = item.indexOf('=');
      if (eq > 0 && !fields.has(item.slice(0, eq))) fields.set(item.slice(0, eq), item.slice(eq + 1));
    }
    let msg = '';
    for (const p of ['Credential', 'Signature', 'SignedHeaders']) {
      if (!fields.get(p)) msg += `Authorization header requires '${p}' parameter. `;
    }
    const xAmzDate = header(req, 'x-amz-date');
    const httpDate = header(req, 'date');
    if (xAmzDate === undefined && httpDate === undefined) msg += `${MISSING_DATE_MESSAGE} `;
    if (msg) throw incomplete(msg.trimEnd());

    if (algorithm !== ALGORITHM) {
      throw incomplete(`Unsupported AWS 'algorithm': '${algorithm.slice(0, 64)}' (only ${ALGORITHM} for now). `);
    }

    let amzDate: string;
    if (xAmzDate !== undefined) {
      if (parseAmzDate(xAmzDate.trim()) === null) throw badDateFormat(xAmzDate);
      amzDate = xAmzDate.trim();
    } else {
      const t = Date.parse(httpDate as string);
      if (Number.isNaN(t)) throw badDateFormat(httpDate as string);
      amzDate = toAmzDate(new Date(t));
    }
    const scope = parseScope(fields.get('Credential') as string);
    return {
      accessKeyId: scope.accessKeyId,
      date: scope.date,
      region: scope.region,
      service: scope.service,
      signedHeaders: parseSignedHeaders(fields.get('SignedHeaders') as string),
      signature: checkSignatureFormat(fields.get('Signature') as string),
      amzDate,
      presigned: false,
      ...(scope.terminator !== TERMINATOR ? { terminator: scope.terminator } : {}),
    };
  }

  // Presigned request: everything rides in the query string.
  let msg = '';
  for (const p of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date']) {
    if (!queryParam(params, p)) msg += `AWS query-string parameters must include '${p}'. `;
  }
  if (msg) throw incomplete(`${msg}Re-examine the query-string parameters.`);
  const algorithm = presignedAlgorithm as string;
  if (algorithm !== ALGORITHM) {
    throw incomplete(`Unsupported AWS 'algorithm': '${algorithm.slice(0, 64)}' (only ${ALGORITHM} for now). `);
  }
  const amzDate = queryParam(params, 'X-Amz-Date') as string;
  if (parseAmzDate(amzDate) === null) throw badDateFormat(amzDate);
  let expiresS: number | undefined;
  const expires = queryParam(params, 'X-Amz-Expires');
  if (expires !== undefined) {
    if (!/^\d{1,7}$/.test(expires) || Number(expires) > MAX_PRESIGNED_TTL_S) {
      throw incomplete(`X-Amz-Expires must be an integer between 0 and ${MAX_PRESIGNED_TTL_S} seconds.`);
    }
    expiresS = Number(expires);
  }
  const scope = parseScope(queryParam(params, 'X-Amz-Credential') as string);
  return {
    accessKeyId: scope.accessKeyId,
    date: scope.date,
    region: scope.region,
    service: scope.service,
    signedHeaders: parseSignedHeaders(queryParam(params, 'X-Amz-SignedHeaders') as string),
    signature: checkSignatureFormat(queryParam(params, 'X-Amz-Signature') as string),
    amzDate,
    presigned: true,
    ...(expiresS !== undefined ? { expiresS } : {}),
    ...(scope.terminator !== TERMINATOR ? { terminator: scope.terminator } : {}),
  };
}

function publicView(p: Parsed): SigV4Credential {
  return {
    accessKeyId: p.accessKeyId,
    date: p.date,
    region: p.region,
    service: p.service,
    signedHeaders: p.signedHeaders,
    signature: p.signature,
    amzDate: p.amzDate,
  };
}

/** Parses the Authorization header (or X-Amz-* query parameters for presigned requests) without verifying. */
export function parseAuthorization(req: SignedRequest): SigV4Credential {
  return publicView(parseInternal(req));
}

// ---------------------------------------------------------------------------------------------------------------
// Canonical request

/** Canonical URI for non-S3 services: dot segments removed, then the (already encoded) path encoded once more. */
export function canonicalUri(path: string): string {
  if (path === '/') return '/';
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  if (segments.length === 0) return '/';
  return `/${segments.map(uriEncode).join('/')}${path.endsWith('/') ? '/' : ''}`;
}

/** Canonical query: parameters RFC 3986-encoded, sorted by name then value, X-Amz-Signature left out. */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = parseQuery(query)
    .filter(([k]) => k.toLowerCase() !== 'x-amz-signature')
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Anything canonicalHeaderValue would change: line breaks, tabs, runs of spaces, a space at either end. */
const NEEDS_CANONICALISING = /[\r\n\t]| {2}|^ | $/;

function canonicalHeaderValue(v: string): string {
  if (!NEEDS_CANONICALISING.test(v)) return v;
  return v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

export function canonicalRequest(req: SignedRequest, signedHeaders: string[], payloadHash: string): string {
  const headerLines = signedHeaders.map((h) => `${h}:${canonicalHeaderValue(header(req, h) ?? '')}\n`).join('');
  return [
    req.method.toUpperCase(),
    canonicalUri(req.path),
    canonicalQuery(req.query),
    headerLines,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

/** crypto.hash (Node ≥ 20.12): one call, no Hash object; about 1 µs less per digest than createHash here. */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// Signing keys, cached: deriving one costs four HMACs and a key is good for a whole day.

const SIGNING_KEY_CACHE_MAX = 1000;
const signingKeys = new Map<string, Buffer>();

export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  // Keyed by the secret itself (it is in the credential cache's memory anyway; no caller chooses which secret is
  // looked up): hashing it first cost a SHA-256 per request.
  const cacheKey = `${date}/${region}/${service}/${secret}`;
  const hit = signingKeys.get(cacheKey);
  if (hit) {
    // Refresh recency: a Map iterates in insertion order, so the first entry is the least recently used.
    signingKeys.delete(cacheKey);
    signingKeys.set(cacheKey, hit);
    return hit;
  }
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  const kSigning = createHmac('sha256', kService).update(TERMINATOR).digest();
  signingKeys.set(cacheKey, kSigning);
  while (signingKeys.size > SIGNING_KEY_CACHE_MAX) {
    const oldest = signingKeys.keys().next().value as string;
    signingKeys.delete(oldest);
  }
  return kSigning;
}

export function signingKeyCacheSize(): number {
  return signingKeys.size;
}

export function clearSigningKeyCache(): void {
  signingKeys.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

function checkTime(p: Parsed, exp: SigV4Expectation): void {
  const maxSkew = exp.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const minutes = `${Math.round(maxSkew / 60000)} min.`;
  const signedAt = parseAmzDate(p.amzDate) as number;
  const now = exp.now.getTime();
  // Only the error messages need the current time formatted.
  const nowStr = () => toAmzDate(exp.now);
  if (p.presigned && p.expiresS !== undefined) {
    const expiresAt = signedAt + p.expiresS * 1000;
    if (now > expiresAt) {
      throw invalid(`Signature expired: ${p.amzDate} is now earlier than ${toAmzDate(new Date(now - p.expiresS * 1000))} (${nowStr()} - ${p.expiresS} sec.)`);
    }
  } else if (now - signedAt > maxSkew) {
    throw invalid(`Signature expired: ${p.amzDate} is now earlier than ${toAmzDate(new Date(now - maxSkew))} (${nowStr()} - ${minutes})`);
  }
  if (signedAt - now > maxSkew) {
    throw invalid(`Signature not yet current: ${p.amzDate} is still later than ${toAmzDate(new Date(now + maxSkew))} (${nowStr()} + ${minutes})`);
  }
}

function checkScope(p: Parsed, exp: SigV4Expectation): void {
  let msg = '';
  if (p.region !== exp.region) msg += 'Credential should be scoped to a valid region. ';
  if (p.service !== exp.service) msg += `Credential should be scoped to correct service: '${exp.service}'. `;
  if (p.terminator !== undefined) {
    msg += `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${p.terminator.slice(0, 64)}'. `;
  }
  const httpDay = p.amzDate.slice(0, 8);
  if (p.date !== httpDay) {
    msg +=
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
      `'${p.date.slice(0, 64)}' != '${httpDay}', from '${p.amzDate}'.`;
  }
  if (msg) throw invalid(msg);
}

function checkSignedHeaders(p: Parsed, req: SignedRequest): void {
  if (!p.signedHeaders.includes('host')) throw invalid(HOST_NOT_SIGNED_MESSAGE);
  // The request date need not be a signed header: it is part of the string to sign whatever the header list says.
  for (const h of p.signedHeaders) {
    if (header(req, h) === undefined) throw invalid(`Signed header '${h.slice(0, 64)}' is not present in the request.`);
  }
  // As AWS requires: every x-amz-* header sent must be signed, or a captured request (whose X-Amz-Target was
  // left unsigned) could be replayed as another operation on the same body.
  const unsigned = Object.keys(req.headers).filter((h) => h.toLowerCase().startsWith('x-amz-') && !p.signedHeaders.includes(h.toLowerCase()));
  if (unsigned.length > 0) {
    throw invalid(`There were headers present in the request which were not signed: ${unsigned.slice(0, 5).map((h) => h.slice(0, 64)).join(', ')}.`);
  }
}

function payloadHash(req: SignedRequest, p: Parsed): string {
  const bodyHash = sha256Hex(req.body);
  let declared = header(req, 'x-amz-content-sha256');
  if (p.presigned) declared = queryParam(parseQuery(req.query), 'X-Amz-Content-Sha256') ?? declared;
  if (declared !== undefined) {
    const d = declared.trim();
    // KMS takes a JSON body that is always signed; an unsigned (or streaming) payload would let whoever sits on
    // the path swap the request, so it is refused rather than trusted.
    if (d === UNSIGNED_PAYLOAD) throw invalid('KMS requires a signed payload: UNSIGNED-PAYLOAD is not accepted.');
    if (d !== bodyHash) throw invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return bodyHash;
}

/** Verifies the request against a secret lookup; returns the parsed credential when the signature holds. */
export async function verifySigV4(
  req: SignedRequest,
  exp: SigV4Expectation,
  lookupSecret: (accessKeyId: string) => Promise<string | null>,
): Promise<SigV4Credential> {
  const p = parseInternal(req);
  checkTime(p, exp);
  checkSignedHeaders(p, req);
  checkScope(p, exp);

  const secret = await lookupSecret(p.accessKeyId);
  if (secret === null) throw new KmsError('UnrecognizedClientException', UNRECOGNIZED_CLIENT_MESSAGE);

  const hash = payloadHash(req, p);
  const scope = `${p.date}/${p.region}/${p.service}/${TERMINATOR}`;
  const canonical = canonicalRequest(req, p.signedHeaders, hash);
  const key = deriveSigningKey(secret, p.date, p.region, p.service);
  const expected = createHmac('sha256', key).update(stringToSign(p.amzDate, scope, canonical)).digest();
  const given = Buffer.from(p.signature, 'hex'); // 32 bytes: the format was checked when parsing
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw invalid(SIGNATURE_MISMATCH_MESSAGE);
  }
  return publicView(p);
}
