// CreateKey: a key of any supported spec whose first version's material (AES key, key pair or HMAC key) is made inside the token.
import { needs } from '../errors.js';
import { isAsymmetric, isHmac, isSupportedKeySpec, isValidUsage, type KeySpec, type KeyUsage, type Origin } from '../key-spec.js';
import type { Hsm } from '../ports.js';
import { keyArn } from '../identifiers.js';
import type { Key, KeyVersion, Tag } from '../model.js';
import { audited } from './audited.js';
import { checkKeyPolicy } from './key-policies.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { requestTagConditions, validateNewTags } from './tags.js';

export interface CreateKeyInput {
  Description?: string;
  KeySpec?: string;
  CustomerMasterKeySpec?: string;
  KeyUsage?: string;
  Origin?: string;
  Tags?: Tag[];
  MultiRegion?: boolean;
  CustomKeyStoreId?: string;
  XksKeyId?: string;
  Policy?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
}

function checkSpec(input: CreateKeyInput): void {
  needs(
    !(input.KeySpec && input.CustomerMasterKeySpec),
    'ValidationException',
    'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.',
  );
  const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
  const usage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
  needs(isSupportedKeySpec(spec), 'UnsupportedOperationException', `KeySpec ${spec} is not supported by this server yet.`);
  needs(isValidUsage(spec, usage), 'ValidationException', `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
  const origin = input.Origin ?? 'AWS_KMS';
  needs(origin === 'AWS_KMS' || origin === 'EXTERNAL', 'UnsupportedOperationException', `Origin ${origin} is not supported by this server yet.`);
  needs(!input.CustomKeyStoreId && !input.XksKeyId, 'UnsupportedOperationException', 'Custom key stores are not supported.');
  needs(!input.MultiRegion, 'UnsupportedOperationException', 'Multi-Region keys are not supported.');
}

export async function createKey(deps: ServiceDeps, ctx: RequestContext, input: CreateKeyInput): Promise<Key> {
  const scope = scopeOf(deps, ctx);
  return audited(deps, ctx, async (repos, draft) => {
    checkSpec(input);
    await authorize(deps, repos, ctx, 'kms:CreateKey', null, {
      'kms:KeySpec': input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT',
      'kms:KeyUsage': input.KeyUsage ?? 'ENCRYPT_DECRYPT',
      'kms:KeyOrigin': input.Origin ?? 'AWS_KMS',
      'kms:BypassPolicyLockoutSafetyCheck': input.BypassPolicyLockoutSafetyCheck ?? false,
      ...(input.Tags?.length ? requestTagConditions(input.Tags) : {}),
    });
    const tags = validateNewTags(input.Tags ?? [], 0);
    const now = deps.clock.now();
    const key: Key = {
      id: deps.newId(),
      accountId: scope.accountId,
      description: input.Description ?? '',
      keySpec: (input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT') as KeySpec,
      keyUsage: (input.KeyUsage ?? 'ENCRYPT_DECRYPT') as KeyUsage,
      origin: (input.Origin ?? 'AWS_KMS') as Origin,
      state: input.Origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      createdAt: now,
      deletionDate: null,
      pendingWindowDays: null,
      currentVersionId: deps.newId(),
    };
    const version: KeyVersion = { id: key.currentVersionId, keyId: key.id, version: 1, createdAt: now };
    draft.keyArn = keyArn(scope, key.id);
    const policy = await checkKeyPolicy(deps, repos, ctx.caller, key, input.Policy, input.BypassPolicyLockoutSafetyCheck);
    // A key of EXTERNAL origin waits for ImportKeyMaterial.
    if (key.origin === 'AWS_KMS') await createMaterial(deps.hsm, key, version.id);
    try {
      await repos.keys.insert(key, version);
      await repos.keyPolicies.put(key.id, policy);
      if (tags.length > 0) await repos.tags.put(key.id, tags);
    } catch (e) {
      // The transaction will roll back: do not leave an orphan object in the token.
      await deps.hsm.destroyRootKey(version.id).catch(() => undefined);
      throw e;
    }
    return key;
  });
}

/** Makes a version's material in the token: an AES root key, a key pair or an HMAC key, by spec. */
export async function createMaterial(hsm: Hsm, key: Pick<Key, 'keySpec' | 'keyUsage'>, versionId: string): Promise<void> {
  const spec = key.keySpec;
  if (isAsymmetric(spec)) await hsm.createKeyPair(versionId, spec, key.keyUsage);
  else if (isHmac(spec)) await hsm.createHmacKey(versionId, spec);
  else await hsm.createRootKey(versionId);
}
