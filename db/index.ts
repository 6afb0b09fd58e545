// The db module's public API: open a database, migrate it, and get a UnitOfWork over it.
export { openDatabase } from './client.js';
export type { Database, DatabaseOptions, Db, PgliteHandle, PostgresDatabase, Schema } from './client.js';
export { errorCode, wrapDbError } from './errors.js';
export { MIGRATION_LOCK_ID, migrate, migrationsCurrent, migrationsFolder } from './migrate.js';
export { DrizzleUnitOfWork, repositoriesOver, type UnitOfWorkTuning } from './unit-of-work.js';
export { aliasExistsMessage } from './repos/aliases.js';
export * as schema from './schema.js';
export { JOB_LOCK_CLASS, tryExclusive, type Exclusive } from './job-lock.js';
