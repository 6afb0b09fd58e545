// The envelope both Encrypt and Decrypt use: seal bytes under a key's current version, open a blob.
import { additionalData, decodeCiphertext, encodeCiphertext, encodeHeader } from '../ciphertext.js';
import { contextKeys, type EncryptionContext } from '../encryption-context.js';
import { invalidCiphertext, KmsError, needs } from '../errors.js';
import { keyArn } from '../identifiers.js';
import { assertStateAllows } from '../key-state.js';
import { algorithmsOf } from '../key-spec.js';
import type { AuditDraft } from '../audit.js';
import type { Key } from '../model.js';
import type { ConditionValues } from '../authorization.js';
import type { Hsm, Repositories } from '../ports.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKey } from './resolve.js';

/** The condition keys a cryptographic request offers to key policies and grants. */
export function cryptoConditions(input: string | undefined, algorithm: string | undefined, context: EncryptionContext | undefined): ConditionValues {
  const values: ConditionValues = {
    'kms:EncryptionAlgorithm': algorithm ?? 'SYMMETRIC_DEFAULT',
    'kms:EncryptionContextKeys': contextKeys(context),
  };
  for (const [k, v] of Object.entries(context ?? {})) values[`kms:EncryptionContext:${k}`] = v;
  if (input?.startsWith('alias/')) values['kms:RequestAlias'] = input;
  return values;
}

/** A symmetric key accepts only SYMMETRIC_DEFAULT, an RSA key RSAES_OAEP_SHA_1 or _256. */
export function checkAlgorithm(key: Key, arn: string, algorithm: string | undefined): void {
  const alg = algorithm ?? 'SYMMETRIC_DEFAULT';
  needs(key.keyUsage === 'ENCRYPT_DECRYPT', 'InvalidKeyUsageException', `${arn} key usage is ${key.keyUsage} which is not valid for this operation.`);
  needs(
    (algorithmsOf(key.keySpec, key.keyUsage).EncryptionAlgorithms ?? []).includes(alg),
    'InvalidKeyUsageException',
    `The encryption algorithm ${alg} is not compatible with the key spec ${key.keySpec} of ${arn}.`,
  );
}

/** Resolves a key for encryption: found, enabled, of the right usage. Records its ARN and the context keys. */
export async function keyForEncryption(
  deps: ServiceDeps,
  ctx: RequestContext,
  repos: Repositories,
  action: string,
  keyIdInput: string,
  algorithm: string | undefined,
  context: EncryptionContext | undefined,
  draft: AuditDraft,
  extra: ConditionValues = {},
): Promise<Key> {
  const scope = scopeOf(deps, ctx);
  const key = await resolveKey(repos, scope, keyIdInput);
  const arn = keyArn({ ...scope, accountId: key.accountId }, key.id);
  draft.keyArn = arn;
  draft.encryptionContextKeys = contextKeys(context);
  await authorize(deps, repos, ctx, action, key, { ...cryptoConditions(keyIdInput, algorithm, context), ...extra });
  assertStateAllows(key.state, arn, 'crypto');
  checkAlgorithm(key, arn, algorithm);
  return key;
}

export async function sealUnderKey(hsm: Hsm, key: Key, plaintext: Uint8Array, context: EncryptionContext | undefined): Promise<Uint8Array> {
  needs(key.keySpec === 'SYMMETRIC_DEFAULT', 'UnsupportedOperationException', `This operation needs a symmetric key; ${key.keySpec} is not.`);
  let header: Uint8Array = new Uint8Array(0);
  const { ciphertext } = await hsm.encrypt(key.currentVersionId, plaintext, (iv) => {
    header = encodeHeader({ keyId: key.id, versionId: key.currentVersionId, iv });
    return additionalData(header, context);
  });
  return encodeCiphertext(header, ciphertext);
}

export interface OpenOptions {
  /** The KeyId member, when the caller named the key. */
  keyIdInput?: string | undefined;
  algorithm?: string | undefined;
  context?: EncryptionContext | undefined;
  /** Check everything but the token operation. */
  dryRun?: boolean | undefined;
  /** Further condition values (ReEncrypt's kms:ReEncryptOnSameKey). */
  conditions?: ConditionValues | undefined;
}

/**
 * Opens a blob: the blob names its key and version. A changed byte, a wrong context, an unknown key or version:
 * all the one InvalidCiphertextException. Naming another key than the blob's is IncorrectKeyException, as in AWS.
 */
export async function openBlob(
  deps: ServiceDeps,
  ctx: RequestContext,
  repos: Repositories,
  action: string,
  blob: Uint8Array,
  opts: OpenOptions,
  draft: AuditDraft,
): Promise<{ key: Key; plaintext: Uint8Array; versionId: string }> {
  const scope = scopeOf(deps, ctx);
  draft.encryptionContextKeys = contextKeys(opts.context);
  const parsed = decodeCiphertext(blob);
  if (opts.keyIdInput !== undefined) {
    const named = await resolveKey(repos, scope, opts.keyIdInput);
    draft.keyArn = keyArn({ ...scope, accountId: named.accountId }, named.id);
    needs(named.id === parsed.keyId, 'IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
  }
  const key = await repos.keys.findById(parsed.keyId);
  if (!key) throw invalidCiphertext();
  const arn = keyArn({ ...scope, accountId: key.accountId }, key.id);
  draft.keyArn = arn;
  await authorize(deps, repos, ctx, action, key, { ...cryptoConditions(opts.keyIdInput, opts.algorithm, opts.context), ...opts.conditions });
  assertStateAllows(key.state, arn, 'crypto');
  checkAlgorithm(key, arn, opts.algorithm);
  const version = await repos.keys.getVersion(key.id, parsed.versionId);
  if (!version) throw invalidCiphertext();
  if (opts.dryRun) throw dryRunSucceeded();
  const plaintext = await deps.hsm.decrypt(version.id, parsed.iv, parsed.body, additionalData(parsed.header, opts.context));
  return { key, plaintext, versionId: version.id };
}

export function dryRunSucceeded(): KmsError {
  return new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
}
