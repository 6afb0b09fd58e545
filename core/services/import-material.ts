// Imported key material for every key spec (SYMMETRIC_DEFAULT, HMAC, RSA and ECC key pairs): GetParametersForImport (an
// RSA wrapping key pair in the token and a sealed import token valid 24 hours), ImportKeyMaterial and
// DeleteImportedKeyMaterial. What each spec accepts is in import-checks.ts.
// The token lacks OAEP-SHA-256 and RSA-AES key wrap as unwrap mechanisms, so the wrapped material is decrypted by the
// wrapping private key inside the token (raw RSA + OAEP decoding for SHA-256), the AES-KWP layer is undone in process,
// and the material is created in the token as a non-extractable key (a key pair from its PKCS #8 private key): a clearly
// labelled in-process unwrap, refused in FIPS mode.
import { drainClaims } from './claimed-jobs.js';
import { createDecipheriv, timingSafeEqual } from 'node:crypto';
import { invalidCiphertext, KmsError, needs } from '../errors.js';
import { isAsymmetric, isHmac, isRsa, type RsaSpec } from '../key-spec.js';
import type { ImportedMaterial, Key } from '../model.js';
import type { Hsm, Repositories } from '../ports.js';
import type { AuditDraft } from '../audit.js';
import { audited } from './audited.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { checkValueOfMaterial, checkValueOfPublicKey, checkWrappingFor } from './import-checks.js';
import { keyForUse } from './key-use.js';
import { keyMaterialId } from '../identifiers.js';

const TOKEN_LIFETIME_MS = 24 * 3_600_000;
const KWP_IV = Buffer.from('a65959a6', 'hex');
const tokenAad = (keyId: string) => new TextEncoder().encode(`coffer:import-token:${keyId}`);

interface TokenBody {
  keyId: string;
  wrappingVersionId: string;
  spec: RsaSpec;
  algorithm: string;
  validTo: number;
}

function assertExternal(key: Key, arn: string): void {
  needs(key.origin === 'EXTERNAL', 'UnsupportedOperationException', `${arn} origin is ${key.origin} which is not valid for this operation.`);
}

export interface ImportParameters {
  keyArn: string;
  importToken: Uint8Array;
  publicKey: Uint8Array;
  validTo: Date;
}

export function getParametersForImport(deps: ServiceDeps, ctx: RequestContext, input: { KeyId: string; WrappingAlgorithm: string; WrappingKeySpec: string }): Promise<ImportParameters> {
  return audited(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForImport(deps, ctx, repos, draft, 'kms:GetParametersForImport', input.KeyId);
    needs(/^RSA_(2048|3072|4096)$/.test(input.WrappingKeySpec), 'UnsupportedOperationException', `WrappingKeySpec ${input.WrappingKeySpec} is not supported.`);
    needs(/^(RSAES_OAEP_SHA_(1|256)|RSA_AES_KEY_WRAP_SHA_(1|256))$/.test(input.WrappingAlgorithm), 'UnsupportedOperationException', `WrappingAlgorithm ${input.WrappingAlgorithm} is not supported.`);
    checkWrappingFor(key.keySpec, input.WrappingAlgorithm, input.WrappingKeySpec);
    const spec = input.WrappingKeySpec as RsaSpec;
    const wrappingVersionId = deps.newId();
    const validTo = new Date(deps.clock.now().getTime() + TOKEN_LIFETIME_MS);
    // Recorded before the pair exists, so the background job can always find and destroy it.
    await repos.imports.addWrappingKey({ versionId: wrappingVersionId, keyId: key.id, accountId: key.accountId, validTo, usedAt: null });
    await deps.hsm.createWrappingKeyPair(wrappingVersionId, spec);
    const publicKey = await deps.hsm.publicKey(wrappingVersionId, spec);
    const body: TokenBody = { keyId: key.id, wrappingVersionId, spec, algorithm: input.WrappingAlgorithm, validTo: validTo.getTime() };
    const importToken = await deps.hsm.seal(new TextEncoder().encode(JSON.stringify(body)), tokenAad(key.id));
    return { keyArn: arn, importToken, publicKey, validTo };
  });
}

async function keyForImport(deps: ServiceDeps, ctx: RequestContext, repos: Repositories, draft: AuditDraft, action: string, keyId: string) {
  // PendingImport keys are not usable for crypto, so the state check is the management one.
  const found = await keyForUse(deps, ctx, repos, draft, action, keyId, null, {}, 'manage');
  assertExternal(found.key, found.arn);
  return found;
}

async function openToken(hsm: Hsm, key: Key, token: Uint8Array, now: Date): Promise<TokenBody> {
  let body: TokenBody;
  try {
    body = JSON.parse(new TextDecoder().decode(await hsm.unseal(token, tokenAad(key.id)))) as TokenBody;
  } catch {
    throw new KmsError('InvalidImportTokenException', 'The import token is not valid for this key.');
  }
  if (body.validTo <= now.getTime()) throw new KmsError('ExpiredImportTokenException', 'The import token has expired. Call GetParametersForImport again.');
  return body;
}

/** Unwraps the material: OAEP in the token with the wrapping private key; for RSA_AES_KEY_WRAP, AES-KWP in process. */
async function unwrap(hsm: Hsm, body: TokenBody, wrapped: Uint8Array): Promise<Buffer> {
  const k = Number(body.spec.slice(4)) / 8;
  const oaep = body.algorithm.endsWith('SHA_1') ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256';
  if (body.algorithm.startsWith('RSAES_')) return Buffer.from(await hsm.asymmetricDecrypt(body.wrappingVersionId, body.spec, oaep, wrapped));
  if (wrapped.length <= k) throw invalidCiphertext();
  const aesKey = Buffer.from(await hsm.asymmetricDecrypt(body.wrappingVersionId, body.spec, oaep, wrapped.subarray(0, k)));
  try {
    needs([16, 24, 32].includes(aesKey.length), 'InvalidCiphertextException', 'The wrapped key material is not valid.');
    const d = createDecipheriv(`id-aes${aesKey.length * 8}-wrap-pad`, aesKey, KWP_IV);
    return Buffer.concat([d.update(wrapped.subarray(k)), d.final()]);
  } catch {
    throw invalidCiphertext();
  } finally {
    aesKey.fill(0);
  }
}

export interface ImportInput {
  KeyId: string;
  ImportToken: Uint8Array;
  EncryptedKeyMaterial: Uint8Array;
  ValidTo?: Date | undefined;
  ExpirationModel?: string | undefined;
  ImportType?: string | undefined;
  KeyMaterialId?: string | undefined;
}

/**
 * ImportType and KeyMaterialId, as AWS defines them for symmetric keys. Each key here holds one material (the key
 * version made with it), so NEW_KEY_MATERIAL (new material for an on-demand rotation) is refused once material was
 * imported, rather than read as a re-import and refused as different material; a KeyMaterialId must name it.
 */
function checkImportType(key: Key, arn: string, input: ImportInput, before: ImportedMaterial | null): void {
  if (input.ImportType === undefined && input.KeyMaterialId === undefined) return;
  needs(key.keySpec === 'SYMMETRIC_DEFAULT', 'ValidationException', 'ImportType and KeyMaterialId are only valid for symmetric encryption keys.');
  needs(!(input.ImportType === 'NEW_KEY_MATERIAL' && input.KeyMaterialId !== undefined), 'ValidationException', 'You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.');
  needs(
    !(input.ImportType === 'NEW_KEY_MATERIAL' && before !== null),
    'UnsupportedOperationException',
    `Importing new key material into ${arn}, which already has imported key material, is not supported by this server (no on-demand rotation of imported material); re-import its existing material.`,
  );
  needsOwnMaterial(key, arn, input.KeyMaterialId);
}

/** A KeyMaterialId, when given, must name the key's material (each key here has one). */
function needsOwnMaterial(key: Key, arn: string, materialId: string | undefined): void {
  needs(materialId === undefined || materialId === keyMaterialId(key.currentVersionId), 'NotFoundException', `Key material ${materialId ?? ''} is not associated with ${arn}.`);
}

function expiryOf(input: ImportInput, now: Date): Pick<ImportedMaterial, 'expirationModel' | 'validTo'> {
  const model = input.ExpirationModel ?? (input.ValidTo ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE');
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    needs(!input.ValidTo, 'ValidationException', 'ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.');
    return { expirationModel: model, validTo: null };
  }
  needs(input.ValidTo, 'ValidationException', 'ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.');
  needs(input.ValidTo.getTime() > now.getTime(), 'ValidationException', 'ValidTo must be in the future.');
  return { expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: input.ValidTo };
}

/**
 * Imports the material. A token is good for one successful import: its wrapping pair is marked used in the importing
 * transaction and destroyed after it commits (the background job destroys it if that fails).
 */
export async function importKeyMaterial(deps: ServiceDeps, ctx: RequestContext, input: ImportInput): Promise<{ keyArn: string; keyMaterialId: string | null }> {
  const { wrappingVersionId, answer } = await audited(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForImport(deps, ctx, repos, draft, 'kms:ImportKeyMaterial', input.KeyId);
    checkImportType(key, arn, input, await repos.imports.get(key.id));
    const now = deps.clock.now();
    const expiry = expiryOf(input, now);
    const body = await openToken(deps.hsm, key, input.ImportToken, now);
    needs(await repos.imports.useWrappingKey(body.wrappingVersionId, now), 'InvalidImportTokenException', 'The import token has already been used. Call GetParametersForImport again.');
    await importMaterial(deps, repos, key, arn, body, input, expiry);
    const materialId = key.keySpec === 'SYMMETRIC_DEFAULT' ? keyMaterialId(key.currentVersionId) : null;
    return { wrappingVersionId: body.wrappingVersionId, answer: { keyArn: arn, keyMaterialId: materialId } };
  });
  await destroyWrappingKey(deps, deps.uow.repos, wrappingVersionId).catch(() => undefined);
  return answer;
}

async function destroyWrappingKey(deps: ServiceDeps, repos: Repositories, versionId: string): Promise<void> {
  await deps.hsm.destroyRootKey(versionId);
  await repos.imports.removeWrappingKey(versionId);
}

type Expiry = Pick<ImportedMaterial, 'expirationModel' | 'validTo'>;

async function importMaterial(deps: ServiceDeps, repos: Repositories, key: Key, arn: string, body: TokenBody, input: ImportInput, expiry: Expiry): Promise<void> {
  const before = await repos.imports.get(key.id);
  const refuse = () => new KmsError('IncorrectKeyMaterialException', `The key material is not the material ${arn} had before.`);
  let checkValue = await unwrapInToken(deps.hsm, key, body, input.EncryptedKeyMaterial);
  if (checkValue && !sameMaterial(before, checkValue)) {
    await deps.hsm.destroyRootKey(key.currentVersionId); // the key was PendingImport: it had no material to lose
    throw refuse();
  }
  checkValue ??= await unwrapInProcess(deps.hsm, key, body, input.EncryptedKeyMaterial, before, refuse);
  await repos.imports.put({ keyId: key.id, checkValue, ...expiry });
  if (key.state === 'PendingImport') await repos.keys.update(key.id, { state: 'Enabled' });
}

const sameMaterial = (before: ImportedMaterial | null, checkValue: Buffer): boolean =>
  !before || (before.checkValue.length === checkValue.length && timingSafeEqual(before.checkValue, checkValue));

/**
 * RSA_AES_KEY_WRAP_SHA_1 of an RSA private key, unwrapped by the token itself where it can: the material never enters
 * the process. Only for a key without material (PendingImport), since the token objects are made before the check value
 * can be compared. Returns the check value, or null when the in-process path must do it.
 */
async function unwrapInToken(hsm: Hsm, key: Key, body: TokenBody, wrapped: Uint8Array): Promise<Buffer | null> {
  if (!isRsa(key.keySpec) || body.algorithm !== 'RSA_AES_KEY_WRAP_SHA_1' || key.state !== 'PendingImport') return null;
  const target = { versionId: key.currentVersionId, spec: key.keySpec, usage: key.keyUsage };
  const publicKey = await hsm.unwrapRsaKeyPair({ versionId: body.wrappingVersionId, spec: body.spec }, wrapped, target);
  return publicKey ? checkValueOfPublicKey(publicKey) : null;
}

/** Unwraps in process (labelled fallback, refused in FIPS mode), checks the material, and creates it in the token. */
async function unwrapInProcess(hsm: Hsm, key: Key, body: TokenBody, wrapped: Uint8Array, before: ImportedMaterial | null, refuse: () => KmsError): Promise<Buffer> {
  const material = await unwrap(hsm, body, wrapped);
  try {
    const checkValue = checkValueOfMaterial(key.keySpec, material);
    // Refused before the token is touched, so a key that still has its material keeps it.
    if (!sameMaterial(before, checkValue)) throw refuse();
    await putInToken(hsm, key, material);
    return checkValue;
  } finally {
    material.fill(0);
  }
}

/** Creates the material in the token as the current version's AES root key, HMAC key or key pair, by spec. */
async function putInToken(hsm: Hsm, key: Key, material: Buffer): Promise<void> {
  const spec = key.keySpec;
  if (isAsymmetric(spec)) await hsm.importKeyPair(key.currentVersionId, spec, key.keyUsage, material);
  else if (isHmac(spec)) await hsm.importHmacKey(key.currentVersionId, spec, material);
  else await hsm.importRootKey(key.currentVersionId, material);
}

/** Deletes the key's material (the one KeyMaterialId names, when given: it must be the key's). */
export function deleteImportedKeyMaterial(deps: ServiceDeps, ctx: RequestContext, keyId: string, materialId?: string): Promise<{ keyArn: string; keyMaterialId: string | null }> {
  return audited(deps, ctx, async (repos, draft) => {
    const { key, arn } = await keyForImport(deps, ctx, repos, draft, 'kms:DeleteImportedKeyMaterial', keyId);
    needsOwnMaterial(key, arn, materialId);
    await deps.hsm.destroyRootKey(key.currentVersionId);
    await repos.keys.update(key.id, { state: 'PendingImport' });
    return { keyArn: arn, keyMaterialId: key.keySpec === 'SYMMETRIC_DEFAULT' ? keyMaterialId(key.currentVersionId) : null };
  });
}

/** The background job: deletes imported material whose ValidTo has passed (the key goes to PendingImport), once per key across instances. */
export function expireImportedMaterial(deps: ServiceDeps): Promise<number> {
  return drainClaims(deps, {
    operation: 'DeleteExpiredKeyMaterial',
    userAgent: 'coffer-import-expiry-job',
    claim: (repos, now) => repos.imports.claimExpired(now),
    handle: async (repos, claimed) => {
      await deps.hsm.destroyRootKey(claimed.key.currentVersionId);
      await repos.keys.update(claimed.key.id, { state: 'PendingImport' });
      await repos.imports.put({ ...claimed.material, validTo: null });
      return claimed.key;
    },
  });
}

/** The background job: destroys wrapping key pairs whose import token was used or has expired, once across instances. */
export function destroySpentWrappingKeys(deps: ServiceDeps): Promise<number> {
  return drainClaims(deps, {
    operation: 'DeleteImportWrappingKey',
    userAgent: 'coffer-import-wrapping-key-job',
    claim: (repos, now) => repos.imports.claimSpentWrappingKey(now),
    handle: async (repos, wrapping) => {
      await destroyWrappingKey(deps, repos, wrapping.versionId);
      return { id: wrapping.keyId, accountId: wrapping.accountId };
    },
  });
}
