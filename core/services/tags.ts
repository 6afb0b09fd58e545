// TagResource, UntagResource, ListResourceTags, and the tag rules CreateKey shares.
import type { ConditionValues } from '../authorization.js';
import { INVALID_MARKER_MESSAGE, KmsError, needs } from '../errors.js';
import { assertStateAllows } from '../key-state.js';
import { keyArn } from '../identifiers.js';
import type { Page, Tag } from '../model.js';
import { audited, auditedRead } from './audited.js';
import { authorize, scopeOf, type RequestContext, type ServiceDeps } from './context.js';
import { resolveKeyById } from './resolve.js';

export const MAX_TAGS_PER_KEY = 50;

/** Rejects reserved and duplicate tag keys, and more tags than a key may hold. */
export function validateNewTags(tags: Tag[], existing: number): Tag[] {
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.TagKey.toLowerCase().startsWith('aws:')) throw new KmsError('TagException', 'Tags beginning with aws: are reserved.');
    if (seen.has(t.TagKey)) throw new KmsError('TagException', `Duplicate tag key ${t.TagKey}.`);
    seen.add(t.TagKey);
  }
  needs(existing + tags.length <= MAX_TAGS_PER_KEY, 'TagException', `A key may have at most ${MAX_TAGS_PER_KEY} tags.`);
  return tags;
}

/** aws:RequestTag/<key> for each tag a request sets, and aws:TagKeys listing their keys (CreateKey, TagResource). */
export function requestTagConditions(tags: readonly Tag[]): ConditionValues {
  return tagConditions(tags.map((t) => [t.TagKey, t.TagValue]));
}

/** The same keys from key-value pairs, whatever a tag's shape (KMS's TagKey/TagValue, IAM's Key/Value). */
export function tagConditions(pairs: ReadonlyArray<readonly [string, string]>): ConditionValues {
  const values: ConditionValues = { 'aws:TagKeys': pairs.map(([k]) => k) };
  for (const [k, v] of pairs) values[`aws:RequestTag/${k}`] = v;
  return values;
}

export async function tagResource(deps: ServiceDeps, ctx: RequestContext, keyId: string, tags: Tag[]): Promise<void> {
  const scope = scopeOf(deps, ctx);
  await audited(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, keyId);
    draft.keyArn = keyArn(scope, key.id);
    await authorize(deps, repos, ctx, 'kms:TagResource', key, requestTagConditions(tags));
    assertStateAllows(key.state, draft.keyArn, 'manage');
    validateNewTags(tags, 0);
    // The key's row lock makes concurrent TagResource calls take turns, so the count below sees the others' tags.
    await repos.keys.lockForUpdate(key.id);
    await repos.tags.put(key.id, tags);
    needs((await repos.tags.count(key.id)) <= MAX_TAGS_PER_KEY, 'TagException', `A key may have at most ${MAX_TAGS_PER_KEY} tags.`);
  });
}

export async function untagResource(deps: ServiceDeps, ctx: RequestContext, keyId: string, tagKeys: string[]): Promise<void> {
  const scope = scopeOf(deps, ctx);
  await audited(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, keyId);
    draft.keyArn = keyArn(scope, key.id);
    await authorize(deps, repos, ctx, 'kms:UntagResource', key, { 'aws:TagKeys': tagKeys });
    assertStateAllows(key.state, draft.keyArn, 'manage');
    if (tagKeys.some((k) => k.toLowerCase().startsWith('aws:'))) throw new KmsError('TagException', 'Tags beginning with aws: are reserved.');
    await repos.tags.remove(key.id, tagKeys);
  });
}

/**
 * ListResourceTags' marker: the last tag key of the page before, made opaque so that a marker this server did not
 * hand out can be told from a tag key (any short string is one) and refused as AWS does.
 */
const TAG_MARKER_PREFIX = 't:';
const tagMarkerOf = (tagKey: string): string => Buffer.from(TAG_MARKER_PREFIX + tagKey, 'utf8').toString('base64url');
function tagKeyOf(marker: string): string {
  const text = Buffer.from(marker, 'base64url').toString('utf8');
  const ok = text.startsWith(TAG_MARKER_PREFIX) && text.length > TAG_MARKER_PREFIX.length && tagMarkerOf(text.slice(TAG_MARKER_PREFIX.length)) === marker;
  needs(ok, 'InvalidMarkerException', INVALID_MARKER_MESSAGE);
  return text.slice(TAG_MARKER_PREFIX.length);
}

export async function listResourceTags(
  deps: ServiceDeps,
  ctx: RequestContext,
  keyId: string,
  limit: number,
  marker: string | null,
): Promise<Page<Tag>> {
  const scope = scopeOf(deps, ctx);
  return auditedRead(deps, ctx, async (repos, draft) => {
    const key = await resolveKeyById(repos, scope, keyId);
    draft.keyArn = keyArn(scope, key.id);
    await authorize(deps, repos, ctx, 'kms:ListResourceTags', key);
    const page = await repos.tags.list(key.id, limit, marker === null ? null : tagKeyOf(marker));
    return { items: page.items, next: page.next === null ? null : tagMarkerOf(page.next) };
  });
}
