// End-to-end: Coffer behind a TLS-terminating proxy. With COFFER_TRUSTED_PROXIES naming the proxy, aws:SourceIp and
// the audit record's sourceIPAddress are the client's address from X-Forwarded-For, and aws:SecureTransport is what
// X-Forwarded-Proto says (or RFC 7239's Forwarded, with COFFER_FORWARDED_HEADER=forwarded); without it (the default)
// the headers are ignored, so a client cannot claim an address or TLS by sending them itself. The tests' own loopback
// connections play the proxy.
import { describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { call } from '../helpers/audit.js';
import { ACCOUNT, failure, REGION, serverPerFile } from '../helpers/server.js';

const behindProxy = serverPerFile({ env: { COFFER_TRUSTED_PROXIES: '127.0.0.1, ::1' } });
const direct = serverPerFile();
const behindRfc7239Proxy = serverPerFile({ env: { COFFER_TRUSTED_PROXIES: '127.0.0.1, ::1', COFFER_FORWARDED_HEADER: 'forwarded' } });

const root = { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' };
const Policy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    root,
    { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    { Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } },
    // Global keys every request carries: each Deny would apply if its key were missing.
    { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } } },
    { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringNotEquals: { 'aws:RequestedRegion': REGION } } },
    { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Null: { 'aws:EpochTime': 'true' } } },
    { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { NumericLessThan: { 'aws:EpochTime': '1700000000' } } },
  ],
});

/** Sends every request of `kms` as a proxy would forward it: with X-Forwarded-For and X-Forwarded-Proto. */
function forwarded(kms: KMSClient, forwardedFor: string, proto: string): KMSClient {
  return withHeaders(kms, { 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': proto });
}

function withHeaders(kms: KMSClient, add: Record<string, string>): KMSClient {
  kms.middlewareStack.add(
    (next) => async (args) => {
      Object.assign((args.request as { headers: Record<string, string> }).headers, add);
      return next(args);
    },
    { step: 'build', name: 'asIfForwarded' },
  );
  return kms;
}

const denied = async (p: Promise<unknown>) => expect((await failure(p)).name).toBe('AccessDeniedException');

describe('trusted proxies: aws:SourceIp and aws:SecureTransport (and the other global keys a request carries)', () => {
  it('behind a trusted proxy the forwarded client address and scheme decide the key policy and reach the audit record', async () => {
    const admin = behindProxy.kms;
    // The policy applies once the key exists. The lockout check is bypassed: it evaluates without the keys that vary
    // by request (aws:EpochTime among them), so the Null statement would read as locking the caller out.
    const KeyId = (await admin.send(new CreateKeyCommand({ Policy, BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata!.KeyId!;
    // Plain HTTP straight to Coffer: not secure transport.
    await denied(admin.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array([1]) })));

    const client = forwarded(behindProxy.server.client(), '198.51.100.66, 203.0.113.7', 'https');
    const outsider = forwarded(behindProxy.server.client(), '198.51.100.23', 'https');
    const cleartext = forwarded(behindProxy.server.client(), '203.0.113.7', 'http');
    try {
      const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array([7]) }));
      expect((await client.send(new DecryptCommand({ CiphertextBlob }))).Plaintext).toEqual(new Uint8Array([7]));
      await denied(outsider.send(new DecryptCommand({ CiphertextBlob })));
      await denied(cleartext.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array([1]) })));

      const attrs = [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }];
      const events = (await call(behindProxy.server.url, 'CofferAudit.LookupEvents', { LookupAttributes: attrs })).body.Events as { CloudTrailEvent: string }[];
      const sources = events.map((e) => (JSON.parse(e.CloudTrailEvent) as { sourceIPAddress: string; errorCode?: string }))
        .map((r) => `${r.sourceIPAddress} ${r.errorCode ?? 'ok'}`).sort();
      expect(sources).toEqual(['198.51.100.23 AccessDeniedException', '203.0.113.7 ok']);
    } finally {
      for (const k of [client, outsider, cleartext]) k.destroy();
    }
  });

  it('by default the headers are ignored: a client cannot claim TLS or an address by sending them', async () => {
    const KeyId = (await direct.kms.send(new CreateKeyCommand({ Policy, BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata!.KeyId!;
    const claimer = forwarded(direct.server.client(), '203.0.113.7', 'https');
    try {
      await denied(claimer.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array([1]) })));
      const events = (await call(direct.server.url, 'CofferAudit.LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Encrypt' }] })).body
        .Events as { CloudTrailEvent: string }[];
      expect(events.map((e) => (JSON.parse(e.CloudTrailEvent) as { sourceIPAddress: string }).sourceIPAddress)).toEqual(['127.0.0.1']);
    } finally {
      claimer.destroy();
    }
  });

  it('with COFFER_FORWARDED_HEADER=forwarded, RFC 7239\'s Forwarded decides, and X-Forwarded-For is ignored', async () => {
    const KeyId = (await behindRfc7239Proxy.kms.send(new CreateKeyCommand({ Policy, BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata!.KeyId!;
    const client = withHeaders(behindRfc7239Proxy.server.client(), { forwarded: 'for=198.51.100.66, for="203.0.113.7:4711";proto=https' });
    // A proxy that sets Forwarded passes a client's own X-Forwarded-* through: they must not count.
    const spoofer = withHeaders(behindRfc7239Proxy.server.client(), { forwarded: 'for=198.51.100.23;proto=https', 'x-forwarded-for': '203.0.113.7' });
    const xffOnly = forwarded(behindRfc7239Proxy.server.client(), '203.0.113.7', 'https');
    try {
      const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array([7]) }));
      expect((await client.send(new DecryptCommand({ CiphertextBlob }))).Plaintext).toEqual(new Uint8Array([7]));
      await denied(spoofer.send(new DecryptCommand({ CiphertextBlob })));
      await denied(xffOnly.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array([1]) })));
    } finally {
      for (const k of [client, spoofer, xffOnly]) k.destroy();
    }
  });
});
