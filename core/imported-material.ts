// The states of a key's imported materials (AWS's on-demand rotation of imported key material). A symmetric EXTERNAL
// key has a version per material; material imported for a rotation that has not happened yet is a version newer than
// the current one, and only such imports make one (a rotation always makes its version current).
import type { ImportedMaterial, Key, KeyVersion } from './model.js';

export type KeyMaterialState = 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION';

/** The version whose material awaits RotateKeyOnDemand, or null. */
export function pendingVersion(key: Key, versions: KeyVersion[]): KeyVersion | null {
  const current = versions.find((v) => v.id === key.currentVersionId);
  return (current && versions.find((v) => v.version > current.version)) ?? null;
}

export function materialState(key: Key, version: Pick<KeyVersion, 'id'>, pending: KeyVersion | null): KeyMaterialState {
  if (version.id === key.currentVersionId) return 'CURRENT';
  return version.id === pending?.id ? 'PENDING_ROTATION' : 'NON_CURRENT';
}

/** Whether every material the key uses (all but one pending rotation) is in the token: the key may leave PendingImport. */
export function everyUsableImported(key: Key, materials: ImportedMaterial[], versions: KeyVersion[]): boolean {
  const pending = pendingVersion(key, versions);
  const imported = new Set(materials.filter((m) => m.imported).map((m) => m.versionId));
  return versions.every((v) => v.id === pending?.id || imported.has(v.id));
}
