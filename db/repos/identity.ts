// Identity repositories over Drizzle: accounts, users, user policies, key policies and grants.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Account, Grant, User, UserPolicy } from '../../core/identity-model.js';
import type {
  AccountRepository, GrantRepository, KeyPolicyRepository, UserPolicyRepository, UserRepository,
} from '../../core/ports.js';
import type { Db } from '../client.js';
import { guard } from '../errors.js';
import { accessKeys, accounts, grants, keyPolicies, userPolicies, users, userTags } from '../schema.js';

export class DrizzleAccountRepository implements AccountRepository {
  constructor(private readonly db: Db) {}
  insert(account: Account): Promise<void> {
    return guard(async () => void (await this.db.insert(accounts).values(account)));
  }
  get(accountId: string): Promise<Account | null> {
    return guard(async () => (await this.db.select().from(accounts).where(eq(accounts.accountId, accountId)))[0] ?? null);
  }
}

export class DrizzleUserRepository implements UserRepository {
  constructor(private readonly db: Db) {}
  insert(user: User): Promise<void> {
    return guard(async () => void (await this.db.insert(users).values(user)));
  }
  get(accountId: string, userName: string): Promise<User | null> {
    return guard(async () => (await this.db.select().from(users).where(and(eq(users.accountId, accountId), eq(users.userName, userName))))[0] ?? null);
  }
  lockForUpdate(accountId: string, userName: string): Promise<User | null> {
    return guard(async () => (await this.db.select().from(users).where(and(eq(users.accountId, accountId), eq(users.userName, userName))).for('update'))[0] ?? null);
  }
  list(accountId: string): Promise<User[]> {
    return guard(() => this.db.select().from(users).where(eq(users.accountId, accountId)).orderBy(asc(users.userName)));
  }
  delete(accountId: string, userName: string): Promise<boolean> {
    return guard(async () => {
      await this.db.delete(userPolicies).where(and(eq(userPolicies.accountId, accountId), eq(userPolicies.userName, userName)));
      await this.db.delete(userTags).where(this.tagsOf(accountId, userName));
      await this.db.delete(accessKeys).where(and(eq(accessKeys.accountId, accountId), eq(accessKeys.userName, userName)));
      const gone = await this.db.delete(users).where(and(eq(users.accountId, accountId), eq(users.userName, userName))).returning();
      return gone.length > 0;
    });
  }
  private tagsOf(accountId: string, userName: string) {
    return and(eq(userTags.accountId, accountId), eq(userTags.userName, userName));
  }
  tags(accountId: string, userName: string): Promise<Record<string, string>> {
    return guard(async () => {
      const rows = await this.db.select().from(userTags).where(this.tagsOf(accountId, userName));
      // In code-point order whatever the database's collation.
      rows.sort((a, b) => (a.tagKey < b.tagKey ? -1 : a.tagKey > b.tagKey ? 1 : 0));
      return Object.fromEntries(rows.map((r) => [r.tagKey, r.tagValue]));
    });
  }
  putTags(accountId: string, userName: string, tags: Record<string, string>): Promise<void> {
    const rows = Object.entries(tags).map(([tagKey, tagValue]) => ({ accountId, userName, tagKey, tagValue }));
    if (rows.length === 0) return Promise.resolve();
    return guard(async () => {
      await this.db
        .insert(userTags)
        .values(rows)
        .onConflictDoUpdate({ target: [userTags.accountId, userTags.userName, userTags.tagKey], set: { tagValue: sql`excluded.tag_value` } });
    });
  }
  removeTags(accountId: string, userName: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return guard(async () => void (await this.db.delete(userTags).where(and(this.tagsOf(accountId, userName), inArray(userTags.tagKey, [...keys])))));
  }
}

export class DrizzleUserPolicyRepository implements UserPolicyRepository {
  constructor(private readonly db: Db) {}
  put(policy: UserPolicy): Promise<void> {
    return guard(async () => {
      await this.db
        .insert(userPolicies)
        .values(policy)
        .onConflictDoUpdate({ target: [userPolicies.accountId, userPolicies.userName, userPolicies.policyName], set: { document: policy.document } });
    });
  }
  private where(accountId: string, userName: string, policyName: string) {
    return and(eq(userPolicies.accountId, accountId), eq(userPolicies.userName, userName), eq(userPolicies.policyName, policyName));
  }
  get(accountId: string, userName: string, policyName: string): Promise<UserPolicy | null> {
    return guard(async () => (await this.db.select().from(userPolicies).where(this.where(accountId, userName, policyName)))[0] ?? null);
  }
  list(accountId: string, userName: string): Promise<UserPolicy[]> {
    return guard(() =>
      this.db
        .select()
        .from(userPolicies)
        .where(and(eq(userPolicies.accountId, accountId), eq(userPolicies.userName, userName)))
        .orderBy(asc(userPolicies.policyName)),
    );
  }
  delete(accountId: string, userName: string, policyName: string): Promise<boolean> {
    return guard(async () => (await this.db.delete(userPolicies).where(this.where(accountId, userName, policyName)).returning()).length > 0);
  }
}

export class DrizzleKeyPolicyRepository implements KeyPolicyRepository {
  constructor(private readonly db: Db) {}
  put(keyId: string, document: string): Promise<void> {
    return guard(async () => {
      await this.db.insert(keyPolicies).values({ keyId, document }).onConflictDoUpdate({ target: keyPolicies.keyId, set: { document } });
    });
  }
  get(keyId: string): Promise<string | null> {
    return guard(async () => (await this.db.select().from(keyPolicies).where(eq(keyPolicies.keyId, keyId)))[0]?.document ?? null);
  }
}

type GrantRow = typeof grants.$inferSelect;
const toGrant = (r: GrantRow): Grant => ({ ...r, constraints: r.constraints ?? null });

export class DrizzleGrantRepository implements GrantRepository {
  constructor(private readonly db: Db) {}
  insert(grant: Grant): Promise<void> {
    return guard(async () => void (await this.db.insert(grants).values(grant)));
  }
  get(keyId: string, grantId: string): Promise<Grant | null> {
    return guard(async () => {
      const rows = await this.db.select().from(grants).where(and(eq(grants.keyId, keyId), eq(grants.grantId, grantId)));
      return rows[0] ? toGrant(rows[0]) : null;
    });
  }
  byToken(token: string): Promise<Grant | null> {
    return guard(async () => {
      const rows = await this.db.select().from(grants).where(eq(grants.token, token));
      return rows[0] ? toGrant(rows[0]) : null;
    });
  }
  listForKey(keyId: string, granteePrincipal?: string): Promise<Grant[]> {
    return guard(async () => {
      const where = granteePrincipal === undefined ? eq(grants.keyId, keyId) : and(eq(grants.keyId, keyId), eq(grants.granteePrincipal, granteePrincipal));
      return (await this.db.select().from(grants).where(where).orderBy(asc(grants.createdAt), asc(grants.grantId))).map(toGrant);
    });
  }
  listRetirable(retiringPrincipal: string): Promise<Grant[]> {
    return guard(async () =>
      (await this.db.select().from(grants).where(eq(grants.retiringPrincipal, retiringPrincipal)).orderBy(asc(grants.createdAt), asc(grants.grantId))).map(toGrant),
    );
  }
  delete(grantId: string): Promise<boolean> {
    return guard(async () => (await this.db.delete(grants).where(eq(grants.grantId, grantId)).returning()).length > 0);
  }
}
