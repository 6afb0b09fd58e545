// The UnitOfWork over Drizzle: repositories on the database, or on one transaction that commits or rolls back as a whole.
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'drizzle-orm';
import type { AuditAppender, ChangeFeed, Repositories, UnitOfWork, WrappedKeyStore } from '../core/ports.js';
import { wrappedKeyStoreOver } from './wrapped-key-store.js';
import { changeFeedOver } from './change-feed.js';
import { AuditBatcher, DEFAULT_GATHER_TURNS, DEFAULT_LINGER_MS, MAX_AUDIT_BATCH } from './audit-batcher.js';
import type { Database, DatabaseOptions, Db } from './client.js';
import { openDatabase } from './client.js';
import { guard } from './errors.js';
import { exclusive, tryExclusive, type Exclusive } from './job-lock.js';
import { migrate, migrationsCurrent } from './migrate.js';
import { DrizzleAccessKeyRepository } from './repos/access-keys.js';
import { DrizzleAliasRepository } from './repos/aliases.js';
import { DrizzleAuditRepository } from './repos/audit.js';
import {
  DrizzleAccountRepository, DrizzleGrantRepository, DrizzleKeyPolicyRepository, DrizzleUserPolicyRepository, DrizzleUserRepository,
} from './repos/identity.js';
import { DrizzleKeyRepository } from './repos/keys.js';
import { DrizzleTagRepository } from './repos/tags.js';
import { DrizzleRotationRepository } from './repos/rotations.js';
import { DrizzleImportRepository } from './repos/imports.js';

const HEALTH_TIMEOUT_MS = 2_000;

export interface UnitOfWorkTuning {
  /** Event-loop turns an audit batch may wait for more events (db/audit-batcher.ts); 0: none. */
  auditGatherTurns?: number;
  /** Milliseconds a small audit batch may wait for requests still in flight (db/audit-batcher.ts); 0: none. */
  auditLingerMs?: number;
}

/** Every repository over one database handle or transaction. */
export function repositoriesOver(db: Db, inTransaction = false, auditAppender: AuditAppender | null = null): Repositories {
  return {
    keys: new DrizzleKeyRepository(db),
    rotations: new DrizzleRotationRepository(db),
    imports: new DrizzleImportRepository(db),
    aliases: new DrizzleAliasRepository(db),
    tags: new DrizzleTagRepository(db),
    accessKeys: new DrizzleAccessKeyRepository(db),
    audit: new DrizzleAuditRepository(db, inTransaction, auditAppender),
    accounts: new DrizzleAccountRepository(db),
    users: new DrizzleUserRepository(db),
    userPolicies: new DrizzleUserPolicyRepository(db),
    keyPolicies: new DrizzleKeyPolicyRepository(db),
    grants: new DrizzleGrantRepository(db),
  };
}

export class DrizzleUnitOfWork implements UnitOfWork {
  readonly repos: Repositories;
  /** Appends outside a transaction (refusals, requests that change no state) go through it: group commit. */
  readonly auditAppender: AuditBatcher;
  /** Notices of changes between the instances sharing this database (LISTEN/NOTIFY); this instance's own are ignored. */
  readonly changes: ChangeFeed;
  /** Wrapped key material (COFFER_KEY_STORE=wrapped); its writes join the transaction they are called in. */
  readonly wrappedKeys: WrappedKeyStore;
  /** The transaction the current async call chain runs in, if any. */
  private readonly active = new AsyncLocalStorage<Db>();
  /** Transactions whose callback is still running: see transaction(). */
  private openTransactions = 0;

  /** Takes ownership of `database`: close() closes it. The audit tuning: see db/audit-batcher.ts. */
  constructor(private readonly database: Database, tuning: UnitOfWorkTuning = {}) {
    this.auditAppender = new AuditBatcher(database.db, {
      maxBatch: MAX_AUDIT_BATCH,
      gatherTurns: tuning.auditGatherTurns ?? DEFAULT_GATHER_TURNS,
      lingerMs: tuning.auditLingerMs ?? DEFAULT_LINGER_MS,
    });
    this.changes = changeFeedOver(database, () => this.active.getStore());
    this.repos = repositoriesOver(database.db, false, this.auditAppender);
    this.wrappedKeys = wrappedKeyStoreOver(database, () => this.active.getStore());
  }

  /** Opens the database, applies migrations and returns a unit of work over it. */
  static async open(options: DatabaseOptions = {}, tuning: UnitOfWorkTuning = {}): Promise<DrizzleUnitOfWork> {
    if (options.url && options.migrationUrl) {
      const owner = await guard(() => openDatabase({ url: options.migrationUrl }));
      try {
        await migrate(owner);
      } finally {
        await owner.close().catch(() => {});
      }
    }
    const database = await guard(() => openDatabase(options));
    try {
      if (!(options.url && options.migrationUrl)) await migrate(database);
    } catch (e) {
      await database.close().catch(() => {});
      throw e;
    }
    return new DrizzleUnitOfWork(database, tuning);
  }

  get kind(): Database['kind'] {
    return this.database.kind;
  }

  /**
   * Runs fn in one transaction. On Node 20 an enabled AsyncLocalStorage hooks the creation of every promise in the
   * process (async_hooks), which cost about 8% of the server's CPU per request under load although only transactions
   * read it. So the storage is enabled only while some transaction's callback runs and disabled when the last one
   * ends: every call chain started inside a transaction ran in it, and no transaction is open to be found after.
   */
  transaction<T>(fn: (repos: Repositories) => Promise<T>): Promise<T> {
    return guard(() =>
      this.database.db.transaction(async (tx) => {
        this.openTransactions += 1;
        try {
          return await this.active.run(tx, () => fn(repositoriesOver(tx, true)));
        } finally {
          this.openTransactions -= 1;
          if (this.openTransactions === 0) this.active.disable();
        }
      }),
    );
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

  /** Runs fn unless another holder (any instance) runs the job `name` now: see db/job-lock.ts. */
  tryExclusive<T>(name: string, fn: () => Promise<T>): Promise<Exclusive<T>> {
    return tryExclusive(this.database, name, fn);
  }

  /** Runs fn holding the cluster-wide lock `name`, waiting for it: see db/job-lock.ts exclusive. */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return exclusive(this.database, name, fn);
  }

  /** Every shipped migration is applied; false when not, or when the database does not answer. */
  async migrationsCurrent(): Promise<boolean> {
    return migrationsCurrent(this.database).catch(() => false);
  }

  close(): Promise<void> {
    return guard(() => this.database.close());
  }
}
