// Calls CofferIdentity.* operations by hand, signed with the AWS signer, for end-to-end tests.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { REGION } from './server.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface IdentityAnswer {
  status: number;
  body: Record<string, unknown> & { __type?: string; message?: string };
}

/** Sends one signed AWS JSON 1.1 request with the given target prefix (default CofferIdentity.). */
export async function call(url: string, credentials: Credentials, operation: string, input: object = {}, prefix = 'CofferIdentity.'): Promise<IdentityAnswer> {
  const u = new URL(url);
  const body = JSON.stringify(input);
  const signer = new SignatureV4({ service: 'kms', region: REGION, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: u.hostname,
    port: Number(u.port),
    path: '/',
    headers: { host: u.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${prefix}${operation}` },
    body,
  });
  const { host: _host, ...headers } = signed.headers as Record<string, string>;
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Like call, but throws unless the answer is 200; returns the body. */
export async function ok(url: string, credentials: Credentials, operation: string, input: object = {}): Promise<Record<string, unknown>> {
  const r = await call(url, credentials, operation, input);
  if (r.status !== 200) throw new Error(`${operation} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Creates a user with one access key (as the given administrator), returning its credentials and ARN. */
export async function newUser(url: string, admin: Credentials, userName: string): Promise<Credentials & { arn: string }> {
  const user = (await ok(url, admin, 'CreateUser', { UserName: userName })).User as { Arn: string };
  const key = (await ok(url, admin, 'CreateAccessKey', { UserName: userName })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
  return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey, arn: user.Arn };
}
