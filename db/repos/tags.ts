// TagRepository over Drizzle: a key's tags, one row per tag key.
import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Page, Tag } from '../../core/model.js';
import type { TagRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { tags } from '../schema.js';
import { toPage } from './page.js';

type TagRow = typeof tags.$inferSelect;

const toTag = (r: TagRow): Tag => ({ TagKey: r.tagKey, TagValue: r.tagValue });

/** The last value wins when a request names a tag key twice (one statement cannot touch a row twice). */
function dedupe(list: Tag[]): Tag[] {
  return [...new Map(list.map((t) => [t.TagKey, t])).values()];
}

export class DrizzleTagRepository implements TagRepository {
  constructor(private readonly db: Db) {}

  put(keyId: string, list: Tag[]): Promise<void> {
    return guard(async () => {
      if (list.length === 0) return;
      const values = dedupe(list).map((t) => ({ keyId, tagKey: t.TagKey, tagValue: t.TagValue }));
      await this.db
        .insert(tags)
        .values(values)
        .onConflictDoUpdate({ target: [tags.keyId, tags.tagKey], set: { tagValue: sql`excluded.tag_value` } });
    });
  }

  remove(keyId: string, tagKeys: string[]): Promise<void> {
    return guard(async () => {
      if (tagKeys.length === 0) return;
      await this.db.delete(tags).where(and(eq(tags.keyId, keyId), inArray(tags.tagKey, tagKeys)));
    });
  }

  list(keyId: string, limit: number, marker: string | null): Promise<Page<Tag>> {
    return guard(async () => {
      const where = marker === null ? eq(tags.keyId, keyId) : and(eq(tags.keyId, keyId), gt(tags.tagKey, marker));
      const rows = await this.db.select().from(tags).where(where).orderBy(asc(tags.tagKey)).limit(limit + 1);
      return toPage(rows, limit, toTag, (t) => t.TagKey);
    });
  }

  count(keyId: string): Promise<number> {
    return guard(async () => {
      const rows = await this.db.select({ n: count() }).from(tags).where(eq(tags.keyId, keyId));
      return rows[0]?.n ?? 0;
    });
  }
}
