// The bootstrap administrator: from the environment when set, else generated once and written to a 0600 file.
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceDeps } from '../core/services/context.js';
import { adminExists, ensureAccount, ensureAdmin } from '../core/services/credentials.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';

export const ADMIN_CREDENTIALS_FILE = 'admin-credentials';
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function generateAccessKeyId(): string {
  let id = 'AKIA';
  while (id.length < 20) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export function generateSecretAccessKey(): string {
  return randomBytes(30).toString('base64');
}

/** In the AWS shared-credentials format, so the AWS CLI and SDKs can use it as a profile named `coffer`. */
function credentialsFile(accessKeyId: string, secret: string, region: string): string {
  return `[coffer]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secret}\nregion = ${region}\n`;
}

export async function ensureBootstrapAdmin(config: Config, deps: ServiceDeps, log: Logger): Promise<void> {
  const now = deps.clock.now();
  if (config.admin) {
    await ensureAdmin(deps.uow, deps.hsm, {
      accountId: config.accountId,
      accessKeyId: config.admin.accessKeyId,
      secretAccessKey: config.admin.secretAccessKey.reveal(),
    }, now);
    log.info('administrator credentials from the environment', { accessKeyId: config.admin.accessKeyId });
    return;
  }
  const file = join(config.dataDir, ADMIN_CREDENTIALS_FILE);
  if (await adminExists(deps.uow, config.accountId)) {
    await ensureAccount(deps.uow.repos, config.accountId, 'default', now);
    if (existsSync(file)) log.info('administrator credentials', { file, profile: 'coffer' });
    else log.info('administrator credentials exist in the database; their file is not in this data directory');
    return;
  }
  const accessKeyId = generateAccessKeyId();
  const secretAccessKey = generateSecretAccessKey();
  await ensureAdmin(deps.uow, deps.hsm, { accountId: config.accountId, accessKeyId, secretAccessKey }, now);
  writeFileSync(file, credentialsFile(accessKeyId, secretAccessKey, config.region), { mode: 0o600 });
  log.info('administrator credentials generated', { file, profile: 'coffer', accessKeyId });
}
