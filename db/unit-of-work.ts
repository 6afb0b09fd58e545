// The UnitOfWork over Drizzle: repositories on the database, or on one transaction that commits or rolls back as a whole.
import { sql } from 'drizzle-orm';
import type { Repositories, UnitOfWork } from '../core/ports.js';
import type { Database, DatabaseOptions, Db } from './client.js';
import { openDatabase } from './client.js';
import { guard } from './errors.js';
import { migrate } from './migrate.js';
import { DrizzleAccessKeyRepository } from './repos/access-keys.js';
import { DrizzleAliasRepository } from './repos/aliases.js';
import { DrizzleAuditRepository } from './repos/audit.js';
import {
  DrizzleAccountRepository, DrizzleGrantRepository, DrizzleKeyPolicyRepository, DrizzleUserPolicyRepository, DrizzleUserRepository,
} from './repos/identity.js';
import { DrizzleKeyRepository } from './repos/keys.js';
import { DrizzleTagRepository } from './repos/tags.js';

const HEALTH_TIMEOUT_MS = 2_000;

/** Every repository over one database handle or transaction. */
export function repositoriesOver(db: Db): Repositories {
  return {
    keys: new DrizzleKeyRepository(db),
    aliases: new DrizzleAliasRepository(db),
    tags: new DrizzleTagRepository(db),
    accessKeys: new DrizzleAccessKeyRepository(db),
    audit: new DrizzleAuditRepository(db),
    accounts: new DrizzleAccountRepository(db),
    users: new DrizzleUserRepository(db),
    userPolicies: new DrizzleUserPolicyRepository(db),
    keyPolicies: new DrizzleKeyPolicyRepository(db),
    grants: new DrizzleGrantRepository(db),
  };
}

export class DrizzleUnitOfWork implements UnitOfWork {
  readonly repos: Repositories;

  /** Takes ownership of `database`: close() closes it. */
  constructor(private readonly database: Database) {
    this.repos = repositoriesOver(database.db);
  }

  /** Opens the database, applies migrations and returns a unit of work over it. */
  static async open(options: DatabaseOptions = {}): Promise<DrizzleUnitOfWork> {
    const database = await guard(() => openDatabase(options));
    try {
      await migrate(database);
    } catch (e) {
      await database.close().catch(() => {});
      throw e;
    }
    return new DrizzleUnitOfWork(database);
  }

  get kind(): Database['kind'] {
    return this.database.kind;
  }

  transaction<T>(fn: (repos: Repositories) => Promise<T>): Promise<T> {
    return guard(() => this.database.db.transaction((tx) => fn(repositoriesOver(tx))));
  }

  async healthy(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('health check timed out')), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.database.db.execute(sql`select 1`), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return guard(() => this.database.close());
  }
}
