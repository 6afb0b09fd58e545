// Turns domain records into AWS's response shapes: ARNs, epoch-second dates, base64 blobs.
import { aliasArn, keyArn, keyMaterialId, type Scope } from '../../core/identifiers.js';
import type { Alias, ImportedMaterial, Key, Page } from '../../core/model.js';
import { algorithmsOf } from '../../core/key-spec.js';
import { INVALID_MARKER_MESSAGE, KmsError, type ErrorCode } from '../../core/errors.js';

export const epoch = (d: Date) => d.getTime() / 1000;
export const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/**
 * ExpirationModel and ValidTo of an EXTERNAL key's current material, as AWS shows them: absent while that material
 * awaits import (a key made PendingImport by the deletion of another, non-current material still shows them).
 */
export function importedMetadata(key: Key, imported: ImportedMaterial | null) {
  if (key.origin !== 'EXTERNAL' || !imported?.imported) return {};
  return expiryOf(imported);
}

/** ExpirationModel, and ValidTo when the material expires, of one imported material. */
export function expiryOf(m: ImportedMaterial) {
  const expires = m.expirationModel === 'KEY_MATERIAL_EXPIRES' && m.validTo;
  return { ExpirationModel: m.expirationModel, ...(expires ? { ValidTo: epoch(expires) } : {}) };
}

/** AWS shows CurrentKeyMaterialId for symmetric encryption keys, EXTERNAL ones once their material is imported. */
const hasSymmetricMaterial = (key: Key) => key.keySpec === 'SYMMETRIC_DEFAULT' && key.state !== 'PendingImport';

export function keyMetadata(key: Key, scope: Scope, imported: ImportedMaterial | null = null) {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.id,
    Arn: keyArn({ region: scope.region, accountId: key.accountId }, key.id),
    CreationDate: epoch(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate ? { DeletionDate: epoch(key.deletionDate) } : {}),
    ...(key.pendingWindowDays ? { PendingDeletionWindowInDays: key.pendingWindowDays } : {}),
    Origin: key.origin,
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...algorithmsOf(key.keySpec, key.keyUsage),
    MultiRegion: false,
    ...importedMetadata(key, imported),
    ...(hasSymmetricMaterial(key) ? { CurrentKeyMaterialId: keyMaterialId(key.currentVersionId) } : {}),
  };
}

export function aliasEntry(alias: Alias, scope: Scope) {
  return {
    AliasName: alias.name,
    AliasArn: aliasArn(scope, alias.name),
    TargetKeyId: alias.keyId,
    CreationDate: epoch(alias.createdAt),
    LastUpdatedDate: epoch(alias.updatedAt),
  };
}

export function paged<T, R>(page: Page<T>, member: string, map: (t: T) => R): Record<string, unknown> {
  return { [member]: page.items.map(map), Truncated: page.next !== null, ...(page.next !== null ? { NextMarker: page.next } : {}) };
}

/** How a family names its paging members: KMS (Limit, Marker, Truncated, NextMarker) or IAM (MaxItems, Marker, IsTruncated). */
interface PageMembers { truncated: 'Truncated' | 'IsTruncated'; next: 'NextMarker' | 'Marker'; invalid: ErrorCode; invalidMessage: string }
export const KMS_PAGE: PageMembers = { truncated: 'Truncated', next: 'NextMarker', invalid: 'InvalidMarkerException', invalidMessage: INVALID_MARKER_MESSAGE };
export const IAM_PAGE: PageMembers = { truncated: 'IsTruncated', next: 'Marker', invalid: 'ValidationException', invalidMessage: 'The marker is not valid.' };

/**
 * Pages over a short list held in memory (grants of one key, users of one account); the marker is the index of the
 * next item. A marker this server did not hand out is refused, not silently read as the first page.
 */
export function pageOf<T>(
  items: T[], limit: number, marker: string | undefined, member: string, map: (t: T) => unknown, names: PageMembers = KMS_PAGE,
): Record<string, unknown> {
  const from = marker === undefined ? 0 : /^(0|[1-9]\d{0,8})$/.test(marker) ? Number(marker) : -1;
  if (from < 0 || from > items.length) throw new KmsError(names.invalid, names.invalidMessage);
  const end = from + limit;
  const truncated = end < items.length;
  return { [member]: items.slice(from, end).map(map), [names.truncated]: truncated, ...(truncated ? { [names.next]: String(end) } : {}) };
}
