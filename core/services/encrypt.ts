// Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom.
import type { EncryptionContext } from '../encryption-context.js';
import { needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import { DATA_KEY_SPECS, isRsa, type DataKeySpec } from '../key-spec.js';
import { refuseContext, rsaDecryptIfNamed, rsaEncrypt } from './rsa-encrypt.js';
import { decodeCiphertext } from '../ciphertext.js';
import type { Repositories } from '../ports.js';
import type { AuditDraft } from '../audit.js';
import type { ConditionValues } from '../authorization.js';
import { resolveKey } from './resolve.js';
import type { Scope } from '../identifiers.js';
import { auditedRead } from './audited.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { dryRunSucceeded, keyForEncryption, openBlob, sealUnderKey } from './crypto.js';

export interface EncryptInput {
  KeyId: string;
  Plaintext: Uint8Array;
  EncryptionContext?: EncryptionContext | undefined;
  EncryptionAlgorithm?: string | undefined;
  DryRun?: boolean | undefined;
}

export interface EncryptResult {
  keyArn: string;
  ciphertext: Uint8Array;
  algorithm: string;
}

export function encrypt(deps: ServiceDeps, ctx: RequestContext, input: EncryptInput): Promise<EncryptResult> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await keyForEncryption(deps, ctx, repos, 'kms:Encrypt', input.KeyId, input.EncryptionAlgorithm, input.EncryptionContext, draft);
    if (isRsa(key.keySpec)) refuseContext(input.EncryptionContext);
    if (input.DryRun) throw dryRunSucceeded();
    const algorithm = input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
    const ciphertext = isRsa(key.keySpec)
      ? await rsaEncrypt(deps.hsm, key, algorithm, input.Plaintext)
      : await sealUnderKey(deps.hsm, key, input.Plaintext, input.EncryptionContext);
    return { keyArn: keyArn({ ...scope, accountId: key.accountId }, key.id), ciphertext, algorithm };
  });
}

export interface DecryptInput {
  CiphertextBlob: Uint8Array;
  KeyId?: string | undefined;
  EncryptionContext?: EncryptionContext | undefined;
  EncryptionAlgorithm?: string | undefined;
  DryRun?: boolean | undefined;
}

/** `versionId`: the symmetric key version that opened the blob (its KeyMaterialId is answered); null for RSA. */
export function decrypt(deps: ServiceDeps, ctx: RequestContext, input: DecryptInput): Promise<{ keyArn: string; plaintext: Uint8Array; algorithm: string; versionId: string | null }> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const rsa = await rsaDecryptIfNamed(deps, ctx, repos, 'kms:Decrypt', input, draft);
    if (rsa) return { keyArn: keyArn({ ...scope, accountId: rsa.key.accountId }, rsa.key.id), plaintext: rsa.plaintext, algorithm: rsa.algorithm, versionId: null };
    const opts = { keyIdInput: input.KeyId, algorithm: input.EncryptionAlgorithm, context: input.EncryptionContext, dryRun: input.DryRun };
    const { key, plaintext, versionId } = await openBlob(deps, ctx, repos, 'kms:Decrypt', input.CiphertextBlob, opts, draft);
    return { keyArn: keyArn({ ...scope, accountId: key.accountId }, key.id), plaintext, algorithm: 'SYMMETRIC_DEFAULT', versionId };
  });
}

export interface ReEncryptInput {
  CiphertextBlob: Uint8Array;
  SourceKeyId?: string | undefined;
  SourceEncryptionContext?: EncryptionContext | undefined;
  SourceEncryptionAlgorithm?: string | undefined;
  DestinationKeyId: string;
  DestinationEncryptionContext?: EncryptionContext | undefined;
  DestinationEncryptionAlgorithm?: string | undefined;
  DryRun?: boolean | undefined;
}

export interface ReEncrypted {
  sourceKeyArn: string;
  keyArn: string;
  ciphertext: Uint8Array;
  sourceAlgorithm: string;
  destinationAlgorithm: string;
  /** The symmetric versions used (their KeyMaterialIds are answered); null for an RSA side. */
  sourceVersionId: string | null;
  destinationVersionId: string | null;
}

/** Opens the source: with the RSA key SourceKeyId names (AWS requires it for asymmetric sources), else as a blob. */
async function openSource(deps: ServiceDeps, ctx: RequestContext, repos: Repositories, input: ReEncryptInput, draft: AuditDraft, conditions: ConditionValues) {
  const rsaInput = { CiphertextBlob: input.CiphertextBlob, KeyId: input.SourceKeyId, EncryptionContext: input.SourceEncryptionContext, EncryptionAlgorithm: input.SourceEncryptionAlgorithm };
  const rsa = await rsaDecryptIfNamed(deps, ctx, repos, 'kms:ReEncryptFrom', rsaInput, draft, conditions);
  if (rsa) return { ...rsa, versionId: null };
  const opts = { keyIdInput: input.SourceKeyId, algorithm: input.SourceEncryptionAlgorithm, context: input.SourceEncryptionContext, conditions };
  return { ...(await openBlob(deps, ctx, repos, 'kms:ReEncryptFrom', input.CiphertextBlob, opts, draft)), algorithm: 'SYMMETRIC_DEFAULT' };
}

/** Decrypts under the source key and encrypts under the destination; either may be symmetric or RSA (RSAES-OAEP). */
export function reEncrypt(deps: ServiceDeps, ctx: RequestContext, input: ReEncryptInput): Promise<ReEncrypted> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const sameKey = { 'kms:ReEncryptOnSameKey': await sameKeyValue(repos, scope, input) };
    const source = await openSource(deps, ctx, repos, input, draft, sameKey);
    draft.sourceKeyArn = draft.keyArn;
    try {
      const destAlg = input.DestinationEncryptionAlgorithm;
      const dest = await keyForEncryption(deps, ctx, repos, 'kms:ReEncryptTo', input.DestinationKeyId, destAlg, input.DestinationEncryptionContext, draft, sameKey);
      if (isRsa(dest.keySpec)) refuseContext(input.DestinationEncryptionContext);
      if (input.DryRun) throw dryRunSucceeded();
      const ciphertext = isRsa(dest.keySpec)
        ? await rsaEncrypt(deps.hsm, dest, destAlg as string, source.plaintext)
        : await sealUnderKey(deps.hsm, dest, source.plaintext, input.DestinationEncryptionContext);
      return {
        sourceKeyArn: keyArn({ ...scope, accountId: source.key.accountId }, source.key.id),
        sourceVersionId: source.versionId,
        destinationVersionId: isRsa(dest.keySpec) ? null : dest.currentVersionId,
        keyArn: keyArn({ ...scope, accountId: dest.accountId }, dest.id),
        ciphertext,
        sourceAlgorithm: source.algorithm,
        destinationAlgorithm: destAlg ?? 'SYMMETRIC_DEFAULT',
      };
    } finally {
      source.plaintext.fill(0);
    }
  });
}

/** kms:ReEncryptOnSameKey: whether the source key (an RSA SourceKeyId, else the blob's) is the destination key; undefined when unknown yet. */
async function sameKeyValue(repos: Repositories, scope: Scope, input: ReEncryptInput): Promise<boolean | undefined> {
  try {
    const dest = await resolveKey(repos, scope, input.DestinationKeyId);
    const named = input.SourceKeyId !== undefined ? await resolveKey(repos, scope, input.SourceKeyId) : null;
    const sourceKeyId = named && isRsa(named.keySpec) ? named.id : decodeCiphertext(input.CiphertextBlob).keyId;
    return dest.id === sourceKeyId;
  } catch {
    return undefined; // the use case reports the bad blob or the unknown key in its usual order
  }
}

export interface GenerateDataKeyInput {
  KeyId: string;
  KeySpec?: string | undefined;
  NumberOfBytes?: number | undefined;
  EncryptionContext?: EncryptionContext | undefined;
  DryRun?: boolean | undefined;
}

function dataKeyLength(input: GenerateDataKeyInput): number {
  needs(
    (input.KeySpec === undefined) !== (input.NumberOfBytes === undefined),
    'ValidationException',
    'Please specify either number of bytes or key spec.',
  );
  return input.NumberOfBytes ?? DATA_KEY_SPECS[input.KeySpec as DataKeySpec];
}

/** The data key comes from the token's RNG and is encrypted by the root key inside the token. */
export function generateDataKey(
  deps: ServiceDeps,
  ctx: RequestContext,
  input: GenerateDataKeyInput,
  action: 'kms:GenerateDataKey' | 'kms:GenerateDataKeyWithoutPlaintext' = 'kms:GenerateDataKey',
): Promise<{ keyArn: string; ciphertext: Uint8Array; plaintext: Uint8Array; versionId: string }> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const length = dataKeyLength(input);
    const key = await keyForEncryption(deps, ctx, repos, action, input.KeyId, undefined, input.EncryptionContext, draft);
    if (input.DryRun) throw dryRunSucceeded();
    const plaintext = await deps.hsm.generateRandom(length);
    const ciphertext = await sealUnderKey(deps.hsm, key, plaintext, input.EncryptionContext);
    return { keyArn: keyArn({ ...scope, accountId: key.accountId }, key.id), ciphertext, plaintext, versionId: key.currentVersionId };
  });
}

export function generateRandom(deps: ServiceDeps, ctx: RequestContext, numberOfBytes: number | undefined): Promise<Uint8Array> {
  return auditedRead(deps, ctx, async (repos) => {
    await authorize(deps, repos, ctx, 'kms:GenerateRandom', null);
    needs(numberOfBytes !== undefined, 'ValidationException', 'NumberOfBytes is required.');
    return deps.hsm.generateRandom(numberOfBytes);
  });
}
