// GenerateMac and VerifyMac with HMAC keys: the MAC is computed in the token, compared here in constant time.
import { timingSafeEqual } from 'node:crypto';
import { KmsError, needs } from '../errors.js';
import type { HmacSpec } from '../key-spec.js';
import type { Key } from '../model.js';
import { auditedRead } from './audited.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { dryRunSucceeded } from './crypto.js';
import { keyForUse } from './key-use.js';

export interface MacInput {
  KeyId: string;
  Message: Uint8Array;
  MacAlgorithm: string;
  DryRun?: boolean | undefined;
}

function checkAlgorithm(key: Key, algorithm: string): void {
  needs(
    algorithm === `HMAC_SHA_${key.keySpec.slice(5)}`,
    'InvalidKeyUsageException',
    `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
  );
}

export function generateMac(deps: ServiceDeps, ctx: RequestContext, input: MacInput): Promise<{ keyArn: string; mac: Uint8Array }> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForUse(deps, ctx, repos, draft, 'kms:GenerateMac', input.KeyId, 'GENERATE_VERIFY_MAC', {
      'kms:MacAlgorithm': input.MacAlgorithm,
    });
    checkAlgorithm(key, input.MacAlgorithm);
    if (input.DryRun) throw dryRunSucceeded();
    return { keyArn: arn, mac: await deps.hsm.mac(key.currentVersionId, key.keySpec as HmacSpec, input.Message) };
  });
}

/** Resolves when the MAC matches; KMSInvalidMacException otherwise. */
export function verifyMac(deps: ServiceDeps, ctx: RequestContext, input: MacInput & { Mac: Uint8Array }): Promise<{ keyArn: string }> {
  return auditedRead(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForUse(deps, ctx, repos, draft, 'kms:VerifyMac', input.KeyId, 'GENERATE_VERIFY_MAC', {
      'kms:MacAlgorithm': input.MacAlgorithm,
    });
    checkAlgorithm(key, input.MacAlgorithm);
    if (input.DryRun) throw dryRunSucceeded();
    const expected = await deps.hsm.mac(key.currentVersionId, key.keySpec as HmacSpec, input.Message);
    const ok = expected.length === input.Mac.length && timingSafeEqual(expected, input.Mac);
    expected.fill(0);
    if (!ok) throw new KmsError('KMSInvalidMacException', 'The MAC is not valid for this message, key and algorithm.');
    return { keyArn: arn };
  });
}
