// The SDK's SigV4 signer agrees with @smithy/signature-v4 (the AWS SDK's signer) byte for byte.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signRequest } from '../../sdk/sigv4.js';

async function smithy(url: URL, body: string, target: string, creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, date: Date) {
  const signer = new SignatureV4({ credentials: creds, region: 'eu-west-3', service: 'kms', sha256: Sha256, applyChecksum: false });
  // The shape of @smithy/types' HttpRequest (a transitive package, so not imported).
  const req = {
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: '/', query: {},
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, host: url.host }, body,
  };
  const signed = await signer.sign(req, { signingDate: date });
  return signed.headers as Record<string, string>;
}

describe('signRequest', () => {
  it('produces the Authorization header @smithy/signature-v4 produces', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.option(fc.string({ minLength: 1 }), { nil: undefined }), fc.integer({ min: 0, max: 4e12 }), async (body, token, ms) => {
        const url = new URL('http://127.0.0.1:8080/');
        const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ...(token ? { sessionToken: token.trim() || 'x' } : {}) };
        const date = new Date(Math.floor(ms / 1000) * 1000);
        const ours = signRequest({
          method: 'POST', url, headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.Encrypt' },
          body, region: 'eu-west-3', service: 'kms', credentials: creds, date,
        });
        const theirs = await smithy(url, body, 'TrentService.Encrypt', creds, date);
        expect(ours.authorization).toBe(theirs.authorization);
        expect(ours['x-amz-date']).toBe(theirs['x-amz-date']);
      }),
      { numRuns: 50 },
    );
  });

  it('changes the signature with the secret, the body and the target', () => {
    const base = { method: 'POST', url: new URL('http://h/'), headers: { 'x-amz-target': 'T.A' }, body: '{}', region: 'us-east-1', service: 'kms', date: new Date(0) };
    const a = signRequest({ ...base, credentials: { accessKeyId: 'A', secretAccessKey: 's1' } }).authorization;
    expect(signRequest({ ...base, credentials: { accessKeyId: 'A', secretAccessKey: 's2' } }).authorization).not.toBe(a);
    expect(signRequest({ ...base, body: '{ }', credentials: { accessKeyId: 'A', secretAccessKey: 's1' } }).authorization).not.toBe(a);
    expect(signRequest({ ...base, headers: { 'x-amz-target': 'T.B' }, credentials: { accessKeyId: 'A', secretAccessKey: 's1' } }).authorization).not.toBe(a);
  });
});
