// RotationRepository over Drizzle: rotation settings, rotation rows and the claim of keys due for automatic rotation.
import { and, asc, count, eq, gt, lte } from 'drizzle-orm';
import { KmsError } from '../../core/errors.js';
import type { Key, KeyVersion, Page, Rotation, RotationSettings } from '../../core/model.js';
import type { RotationRepository } from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { keyRotations, keyRotationSettings, keys, keyVersions } from '../schema.js';
import { toPage } from './page.js';
import { INVALID_MARKER_MESSAGE, toKey } from './keys.js';

type SettingsRow = typeof keyRotationSettings.$inferSelect;
const toSettings = (r: SettingsRow): RotationSettings => ({
  keyId: r.keyId, enabled: r.enabled, periodDays: r.periodDays, nextRotationDate: r.nextRotationDate,
});

export class DrizzleRotationRepository implements RotationRepository {
  constructor(private readonly db: Db) {}

  getSettings(keyId: string): Promise<RotationSettings | null> {
    return guard(async () => {
      const rows = await this.db.select().from(keyRotationSettings).where(eq(keyRotationSettings.keyId, keyId));
      return rows[0] ? toSettings(rows[0]) : null;
    });
  }

  putSettings(s: RotationSettings): Promise<void> {
    return guard(async () => {
      const values = { keyId: s.keyId, enabled: s.enabled, periodDays: s.periodDays, nextRotationDate: s.nextRotationDate };
      await this.db.insert(keyRotationSettings).values(values).onConflictDoUpdate({ target: keyRotationSettings.keyId, set: values });
    });
  }

  addRotation(version: KeyVersion, rotation: Rotation): Promise<void> {
    return guard(async () => {
      await this.db.insert(keyVersions).values({ ...version });
      await this.promoteVersion(rotation);
    }, 'This key version already exists.');
  }

  promote(rotation: Rotation): Promise<void> {
    return guard(() => this.promoteVersion(rotation), 'This key version was already rotated to.');
  }

  private async promoteVersion(rotation: Rotation): Promise<void> {
    await this.db.insert(keyRotations).values({ ...rotation });
    await this.db.update(keys).set({ currentVersionId: rotation.versionId }).where(eq(keys.id, rotation.keyId));
  }

  list(keyId: string, limit: number, marker: string | null): Promise<Page<Rotation>> {
    return guard(async () => {
      if (marker !== null && !/^[0-9]{1,9}$/.test(marker)) throw new KmsError('InvalidMarkerException', INVALID_MARKER_MESSAGE);
      const of = eq(keyRotations.keyId, keyId);
      const where = marker === null ? of : and(of, gt(keyRotations.version, Number(marker)));
      const rows = await this.db.select().from(keyRotations).where(where).orderBy(asc(keyRotations.version)).limit(limit + 1);
      return toPage(rows, limit, (r) => ({ ...r }), (r) => String(r.version));
    });
  }

  countOnDemand(keyId: string): Promise<number> {
    return guard(async () => {
      const [row] = await this.db
        .select({ n: count() })
        .from(keyRotations)
        .where(and(eq(keyRotations.keyId, keyId), eq(keyRotations.rotationType, 'ON_DEMAND')));
      return Number(row?.n ?? 0);
    });
  }

  claimDueForRotation(now: Date): Promise<{ settings: RotationSettings; key: Key } | null> {
    return guard(async () => {
      const rows = await this.db
        .select({ s: keyRotationSettings, k: keys })
        .from(keyRotationSettings)
        .innerJoin(keys, eq(keys.id, keyRotationSettings.keyId))
        .where(and(eq(keyRotationSettings.enabled, true), lte(keyRotationSettings.nextRotationDate, now), eq(keys.state, 'Enabled')))
        .orderBy(asc(keyRotationSettings.nextRotationDate))
        .limit(1)
        .for('update', { of: keyRotationSettings, skipLocked: true });
      return rows[0] ? { settings: toSettings(rows[0].s), key: toKey(rows[0].k) } : null;
    });
  }
}
