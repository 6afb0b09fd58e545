// Hand-made AWS JSON 1.1 requests over node:http with a per-request timeout, signed by the AWS signer unless told otherwise.
import { request } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { ADMIN, REGION } from '../helpers/server.js';

export const REQUEST_TIMEOUT_MS = 15_000;

export interface RawRequest {
  target?: string | undefined;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
  sign?: boolean;
  /** Changes made after signing. */
  tamper?: (headers: Record<string, string>, body: string | Uint8Array) => { headers: Record<string, string>; body: string | Uint8Array };
}

export interface RawResponse {
  status: number;
  text: string;
  json: ({ __type?: string; message?: string } & Record<string, unknown>) | null;
  headers: Record<string, string | string[] | undefined>;
  requestId: string | undefined;
}

export async function signedHeaders(url: string, opts: RawRequest): Promise<{ headers: Record<string, string>; body: string | Uint8Array }> {
  const u = new URL(url);
  let headers: Record<string, string> = {
    host: u.host,
    'content-type': 'application/x-amz-json-1.1',
    ...(opts.target !== undefined ? { 'x-amz-target': opts.target } : {}),
    ...opts.headers,
  };
  let body = opts.body ?? '{}';
  if (opts.sign !== false) {
    const signer = new SignatureV4({ service: 'kms', region: REGION, credentials: opts.credentials ?? ADMIN, sha256: Sha256 });
    const signed = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/', headers, body },
      { signingDate: opts.signingDate ?? new Date() },
    );
    headers = signed.headers as Record<string, string>;
  }
  if (opts.tamper) ({ headers, body } = opts.tamper(headers, body));
  return { headers, body };
}

/** Sends raw bytes; rejects with 'timeout' when the server does not answer within REQUEST_TIMEOUT_MS. */
export function send(url: string, headers: Record<string, string>, body: string | Uint8Array, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname: u.hostname, port: u.port, path: '/', method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: RawResponse['json'];
          try {
            json = JSON.parse(text);
          } catch {
            json = null;
          }
          const rid = res.headers['x-amzn-requestid'];
          resolve({ status: res.statusCode ?? 0, text, json, headers: res.headers, requestId: typeof rid === 'string' ? rid : undefined });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function raw(url: string, opts: RawRequest): Promise<RawResponse> {
  const { headers, body } = await signedHeaders(url, opts);
  const { host: _host, ...sendable } = headers;
  return send(url, sendable, body);
}

/** An AWS-style error: a 4xx status and a body with string __type and message. */
export function isAwsClientError(r: RawResponse): boolean {
  return r.status >= 400 && r.status < 500 && typeof r.json?.__type === 'string' && typeof r.json?.message === 'string';
}
