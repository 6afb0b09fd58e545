// Key ids, key ARNs, alias names and alias ARNs: parsing the four forms a KeyId may take, and building ARNs; key
// material ids.
import { createHash } from 'node:crypto';
import { KmsError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;
export const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

export interface Scope {
  region: string;
  accountId: string;
}

export type KeyReference =
  | { kind: 'keyId'; keyId: string; accountId: string | null }
  | { kind: 'alias'; aliasName: string; accountId: string | null };

export function isKeyUuid(s: string): boolean {
  return UUID.test(s);
}

export function keyArn(scope: Scope, keyId: string): string {
  return `arn:aws:kms:${scope.region}:${scope.accountId}:key/${keyId}`;
}

const materialIds = new Map<string, string>();

/**
 * AWS's KeyMaterialId (64 hex digits) of a key version's material: a hash of the version id, so the same version always
 * has the same id (re-imports of an EXTERNAL key's material keep its version) and the id says nothing of the material.
 * Remembered (bounded): Decrypt and GenerateDataKey answer with it on every request.
 */
export function keyMaterialId(versionId: string): string {
  let id = materialIds.get(versionId);
  if (id === undefined) {
    id = createHash('sha256').update(`coffer-key-material-v1\n${versionId}`).digest('hex');
    if (materialIds.size >= 10_000) materialIds.clear();
    materialIds.set(versionId, id);
  }
  return id;
}

export function aliasArn(scope: Scope, aliasName: string): string {
  return `arn:aws:kms:${scope.region}:${scope.accountId}:${aliasName}`;
}

/** Parses a KeyId member. ARNs for another region are not found here, as in AWS. */
export function parseKeyReference(input: string, scope: Scope): KeyReference {
  if (isKeyUuid(input)) return { kind: 'keyId', keyId: input, accountId: null };
  if (input.startsWith('alias/')) return { kind: 'alias', aliasName: input, accountId: null };
  const m = ARN.exec(input);
  if (m) {
    const [, , region, account, type, rest] = m as unknown as [string, string, string, string, string, string];
    if (region !== scope.region) throw new KmsError('NotFoundException', `Invalid arn ${input}`);
    if (type === 'key' && isKeyUuid(rest)) return { kind: 'keyId', keyId: rest, accountId: account };
    if (type === 'alias') return { kind: 'alias', aliasName: `alias/${rest}`, accountId: account };
  }
  throw new KmsError('NotFoundException', `Invalid keyId '${input}'`);
}

/** A KeyId that must name a key, not an alias (TagResource, ScheduleKeyDeletion ...). */
export function parseKeyIdOnly(input: string, scope: Scope): { keyId: string; accountId: string | null } {
  const ref = parseKeyReference(input, scope);
  if (ref.kind === 'alias') throw new KmsError('NotFoundException', `Invalid keyId '${input}'`);
  return ref;
}
