// Imported key material for every key spec (SYMMETRIC_DEFAULT, HMAC, RSA and ECC key pairs): GetParametersForImport (an
// RSA wrapping key pair in the token and a sealed import token valid 24 hours), ImportKeyMaterial and
// DeleteImportedKeyMaterial. What each spec accepts is in import-checks.ts.
// The token lacks OAEP-SHA-256 and RSA-AES key wrap as unwrap mechanisms, so the wrapped material is decrypted by the
// wrapping private key inside the token (raw RSA + OAEP decoding for SHA-256), the AES-KWP layer is undone in process,
// and the material is created in the token as a non-extractable key (a key pair from its PKCS #8 private key): a clearly
// labelled in-process unwrap, refused in FIPS mode.
import type { ConditionValues } from '../authorization.js';
import { drainClaims } from './claimed-jobs.js';
import { createDecipheriv, timingSafeEqual } from 'node:crypto';
import { invalidCiphertext, KmsError, needs } from '../errors.js';
import { isAsymmetric, isHmac, isRsa, type RsaSpec } from '../key-spec.js';
import type { ImportedMaterial, Key, KeyVersion } from '../model.js';
import { everyUsableImported, pendingVersion } from '../imported-material.js';
import type { Hsm, Repositories } from '../ports.js';
import type { AuditDraft } from '../audit.js';
import { audited } from './audited.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { checkValueOfMaterial, checkValueOfPublicKey, checkWrappingFor } from './import-checks.js';
import { keyForUse, lockKey } from './key-use.js';
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
    const conditions = { 'kms:WrappingAlgorithm': input.WrappingAlgorithm, 'kms:WrappingKeySpec': input.WrappingKeySpec };
    const { key, arn } = await keyForImport(deps, ctx, repos, draft, 'kms:GetParametersForImport', input.KeyId, conditions);
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

async function keyForImport(deps: ServiceDeps, ctx: RequestContext, repos: Repositories, draft: AuditDraft, action: string, keyId: string, conditions: ConditionValues = {}) {
  // PendingImport keys are not usable for crypto, so the state check is the management one.
  const found = await keyForUse(deps, ctx, repos, draft, action, keyId, null, conditions, 'manage');
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
  KeyMaterialDescription?: string | undefined;
  KeyMaterialId?: string | undefined;
}

/** Where imported material goes, decided from its check value before the token is touched. */
interface Placement {
  versionId: string;
  /** The record of the material it re-imports, or null for new material. */
  before: ImportedMaterial | null;
  /** A new version, pending on-demand rotation, that this import adds. */
  pending: KeyVersion | null;
}

type Place = (checkValue: Uint8Array) => Placement;

const sameCheckValue = (m: ImportedMaterial, checkValue: Uint8Array): boolean =>
  m.checkValue.length === checkValue.length && timingSafeEqual(m.checkValue, checkValue);

/**
 * ImportType and KeyMaterialId, as AWS defines them: new material (the default while the key never had any) is the
 * key's first material, or for a symmetric key that has material, material pending an on-demand rotation (one at a
 * time); existing material (the default after that) must be one the key had, the one KeyMaterialId names when given.
 * Everything that can be refused without the material is refused before the import token is spent.
 */
function placementFor(deps: ServiceDeps, key: Key, arn: string, input: ImportInput, materials: ImportedMaterial[], versions: KeyVersion[]): Place {
  const symmetric = key.keySpec === 'SYMMETRIC_DEFAULT';
  needs(symmetric || (input.ImportType === undefined && input.KeyMaterialId === undefined && input.KeyMaterialDescription === undefined), 'ValidationException', 'ImportType, KeyMaterialId and KeyMaterialDescription are only valid for symmetric encryption keys.');
  const type = input.ImportType ?? (materials.length === 0 ? 'NEW_KEY_MATERIAL' : 'EXISTING_KEY_MATERIAL');
  needs(!(type === 'NEW_KEY_MATERIAL' && input.KeyMaterialId !== undefined), 'ValidationException', 'You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.');
  const mismatch = () => new KmsError('IncorrectKeyMaterialException', `The key material is not the material ${arn} had before.`);
  if (type === 'EXISTING_KEY_MATERIAL') {
    needs(materials.length > 0, 'IncorrectKeyMaterialException', `${arn} has no key material to re-import; import it with ImportType NEW_KEY_MATERIAL.`);
    const named = input.KeyMaterialId === undefined ? null : findMaterial(key, arn, materials, input.KeyMaterialId);
    return (checkValue) => {
      const before = named ?? materials.find((m) => sameCheckValue(m, checkValue));
      if (!before || !sameCheckValue(before, checkValue)) throw mismatch();
      return { versionId: before.versionId, before, pending: null };
    };
  }
  if (materials.length === 0) return () => ({ versionId: key.currentVersionId, before: null, pending: null });
  const pending = pendingVersion(key, versions);
  needs(pending === null, 'KMSInvalidStateException', `${arn} already has key material pending rotation (${pending ? keyMaterialId(pending.id) : ''}); rotate to it with RotateKeyOnDemand, or delete it, before importing new key material.`);
  const version: KeyVersion = { id: deps.newId(), keyId: key.id, version: Math.max(0, ...versions.map((v) => v.version)) + 1, createdAt: deps.clock.now() };
  return (checkValue) => {
    needs(!materials.some((m) => sameCheckValue(m, checkValue)), 'IncorrectKeyMaterialException', `This key material is already associated with ${arn}; import it with ImportType EXISTING_KEY_MATERIAL.`);
    return { versionId: version.id, before: null, pending: version };
  };
}

/** The key's material a KeyMaterialId names, or NotFoundException. */
function findMaterial(key: Key, arn: string, materials: ImportedMaterial[], materialId: string): ImportedMaterial {
  const found = materials.find((m) => keyMaterialId(m.versionId) === materialId);
  if (!found) throw new KmsError('NotFoundException', `Key material ${materialId} is not associated with ${arn}.`);
  return found;
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
    const now = deps.clock.now();
    const expiry = expiryOf(input, now);
    // kms:ValidTo is epoch seconds, compared with the Numeric operators; absent when the material does not expire.
    const conditions = { 'kms:ExpirationModel': expiry.expirationModel, 'kms:ValidTo': expiry.validTo ? expiry.validTo.getTime() / 1000 : undefined };
    const found = await keyForImport(deps, ctx, repos, draft, 'kms:ImportKeyMaterial', input.KeyId, conditions);
    const { arn } = found;
    const key = await lockKey(repos, found.key, arn, 'manage');
    const materials = await repos.imports.list(key.id);
    const versions = await repos.keys.listVersions(key.id);
    const place = placementFor(deps, key, arn, input, materials, versions);
    const body = await openToken(deps.hsm, key, input.ImportToken, now);
    needs(await repos.imports.useWrappingKey(body.wrappingVersionId, now), 'InvalidImportTokenException', 'The import token has already been used. Call GetParametersForImport again.');
    const placed = await importMaterial(deps.hsm, key, body, input.EncryptedKeyMaterial, materials, place);
    try {
      if (placed.pending) await repos.keys.addVersion(placed.pending);
      const description = input.KeyMaterialDescription ?? placed.before?.description ?? null;
      const record: ImportedMaterial = { keyId: key.id, versionId: placed.versionId, checkValue: placed.checkValue, ...expiry, description, imported: true };
      await repos.imports.put(record);
      const all = [...materials.filter((m) => m.versionId !== record.versionId), record];
      if (key.state === 'PendingImport' && everyUsableImported(key, all, [...versions, ...(placed.pending ? [placed.pending] : [])])) await repos.keys.update(key.id, { state: 'Enabled' });
    } catch (e) {
      // New pending material has no ciphertexts yet: the token object is destroyed with the transaction's failure.
      if (placed.pending) await deps.hsm.destroyRootKey(placed.pending.id).catch(() => undefined);
      throw e;
    }
    const materialId = key.keySpec === 'SYMMETRIC_DEFAULT' ? keyMaterialId(placed.versionId) : null;
    return { wrappingVersionId: body.wrappingVersionId, answer: { keyArn: arn, keyMaterialId: materialId } };
  });
  await destroyWrappingKey(deps, deps.uow.repos, wrappingVersionId).catch(() => undefined);
  return answer;
}

async function destroyWrappingKey(deps: ServiceDeps, repos: Repositories, versionId: string): Promise<void> {
  await deps.hsm.destroyRootKey(versionId);
  await repos.imports.removeWrappingKey(versionId);
}

/** Unwraps the material, places it by its check value, and creates it in the token under the placed version. */
async function importMaterial(hsm: Hsm, key: Key, body: TokenBody, wrapped: Uint8Array, materials: ImportedMaterial[], place: Place): Promise<Placement & { checkValue: Buffer }> {
  const inToken = await unwrapInToken(hsm, key, body, wrapped, materials);
  if (inToken) {
    try {
      return { ...place(inToken), checkValue: inToken };
    } catch (e) {
      await hsm.destroyRootKey(key.currentVersionId); // the key had no material in the token to lose
      throw e;
    }
  }
  const material = await unwrap(hsm, body, wrapped);
  try {
    const checkValue = checkValueOfMaterial(key.keySpec, material);
    // Placed (or refused) before the token is touched, so a key that still has its material keeps it.
    const placed = place(checkValue);
    await putInToken(hsm, key, placed.versionId, material);
    return { ...placed, checkValue };
  } finally {
    material.fill(0);
  }
}

/**
 * RSA_AES_KEY_WRAP_SHA_1 of an RSA private key, unwrapped by the token itself where it can: the material never enters
 * the process. Only while the key has no material in the token, since the token objects are made before the check
 * value can be compared. Returns the check value, or null when the in-process path must do it.
 */
async function unwrapInToken(hsm: Hsm, key: Key, body: TokenBody, wrapped: Uint8Array, materials: ImportedMaterial[]): Promise<Buffer | null> {
  if (!isRsa(key.keySpec) || body.algorithm !== 'RSA_AES_KEY_WRAP_SHA_1' || materials.some((m) => m.imported)) return null;
  const target = { versionId: key.currentVersionId, spec: key.keySpec, usage: key.keyUsage };
  const publicKey = await hsm.unwrapRsaKeyPair({ versionId: body.wrappingVersionId, spec: body.spec }, wrapped, target);
  return publicKey ? checkValueOfPublicKey(publicKey) : null;
}

/** Creates the material in the token as the version's AES root key, HMAC key or key pair, by spec. */
async function putInToken(hsm: Hsm, key: Key, versionId: string, material: Buffer): Promise<void> {
  const spec = key.keySpec;
  if (isAsymmetric(spec)) await hsm.importKeyPair(versionId, spec, key.keyUsage, material);
  else if (isHmac(spec)) await hsm.importHmacKey(versionId, spec, material);
  else await hsm.importRootKey(versionId, material);
}

/**
 * Deletes one material: the one KeyMaterialId names, else the current one. Material pending rotation was never the
 * key's: it goes entirely and the key's state stays. Any other material's deletion makes the key PendingImport until
 * it is re-imported (AWS: "the deletion or expiration of any key material in a state other than PENDING_ROTATION
 * changes the key state to Pending import").
 */
export function deleteImportedKeyMaterial(deps: ServiceDeps, ctx: RequestContext, keyId: string, materialId?: string): Promise<{ keyArn: string; keyMaterialId: string | null }> {
  return audited(deps, ctx, async (repos, draft) => {
    const found = await keyForImport(deps, ctx, repos, draft, 'kms:DeleteImportedKeyMaterial', keyId);
    const { arn } = found;
    const key = await lockKey(repos, found.key, arn, 'manage');
    const materials = await repos.imports.list(key.id);
    const target = materialId === undefined ? key.currentVersionId : findMaterial(key, arn, materials, materialId).versionId;
    await deleteMaterial(deps, repos, key, target, materials.find((m) => m.versionId === target));
    return { keyArn: arn, keyMaterialId: key.keySpec === 'SYMMETRIC_DEFAULT' ? keyMaterialId(target) : null };
  });
}

/** `record`: the material's import record, when it has one (the key's first version has none before its first import). */
async function deleteMaterial(deps: ServiceDeps, repos: Repositories, key: Key, versionId: string, record: ImportedMaterial | undefined): Promise<void> {
  const pending = pendingVersion(key, await repos.keys.listVersions(key.id));
  await deps.hsm.destroyRootKey(versionId);
  if (pending?.id === versionId) return repos.keys.deleteVersion(key.id, versionId);
  if (record) await repos.imports.put({ ...record, validTo: null, imported: false });
  if (key.state !== 'PendingImport') await repos.keys.update(key.id, { state: 'PendingImport' });
}

/** The background job: deletes imported material whose ValidTo has passed, as DeleteImportedKeyMaterial does, once per material across instances. */
export function expireImportedMaterial(deps: ServiceDeps): Promise<number> {
  return drainClaims(deps, {
    operation: 'DeleteExpiredKeyMaterial',
    userAgent: 'coffer-import-expiry-job',
    claim: (repos, now) => repos.imports.claimExpired(now),
    handle: async (repos, claimed) => {
      await deleteMaterial(deps, repos, claimed.key, claimed.material.versionId, claimed.material);
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
