// Development only: a SoftHSM config, PIN files and an initialised token under a data directory. Idempotent.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KmsError } from '../core/errors.js';
import { acquireModule, ck, listTokens, releaseModule, type PKCS11 } from './module.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface DevTokenOptions {
  dataDir: string;
  label: string;
  modulePath?: string;
}

export interface DevToken {
  modulePath: string;
  tokenLabel: string;
  pin: string;
}

/** Writes `<dataDir>/softhsm2.conf`, the PIN files and the token when missing; sets SOFTHSM2_CONF. */
export async function ensureDevToken(options: DevTokenOptions): Promise<DevToken> {
  try {
    return prepare(options);
  } catch (e) {
    if (e instanceof KmsError) throw e;
    // The cause is a PKCS#11 or file-system error: neither carries a PIN.
    throw new KmsError('KMSInternalException', `Preparing the development token in ${options.dataDir} failed.`, { cause: e });
  }
}

function prepare(options: DevTokenOptions): DevToken {
  const dataDir = resolve(options.dataDir);
  const modulePath = options.modulePath ?? SOFTHSM_MODULE;
  writeConfig(dataDir);
  const pin = readOrCreateSecret(join(dataDir, 'pkcs11.pin'));
  const soPin = readOrCreateSecret(join(dataDir, 'pkcs11.so-pin'));
  process.env.SOFTHSM2_CONF = join(dataDir, 'softhsm2.conf');
  const lib = acquireModule(modulePath);
  try {
    if (!listTokens(lib).some((t) => t.initialized && t.label === options.label)) {
      initToken(lib, options.label, soPin, pin);
    }
  } finally {
    releaseModule(modulePath);
  }
  return { modulePath, tokenLabel: options.label, pin };
}

function writeConfig(dataDir: string): void {
  const tokenDir = join(dataDir, 'tokens');
  mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  const conf = [
    '# SoftHSM configuration written by Coffer for development.',
    `directories.tokendir = ${tokenDir}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    'slots.removable = false',
    '',
  ].join('\n');
  const path = join(dataDir, 'softhsm2.conf');
  if (readIfExists(path) !== conf) writeFileSync(path, conf, { mode: 0o600 });
}

/** The secret in `path`, or a new random hex one written with mode 0600 (a concurrent writer wins). */
function readOrCreateSecret(path: string): string {
  const existing = readIfExists(path);
  if (existing !== null) return existing.trim();
  try {
    writeFileSync(path, randomBytes(16).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return readFileSync(path, 'utf8').trim();
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** C_InitToken on the free slot, then the SO sets the user PIN. Usable at once in this process. */
function initToken(lib: PKCS11, label: string, soPin: string, pin: string): void {
  const free = listTokens(lib).find((t) => !t.initialized);
  if (!free) throw new KmsError('KMSInternalException', 'No free slot to initialise a token in.');
  lib.C_InitToken(free.slot, soPin, label);
  const session = lib.C_OpenSession(free.slot, ck.CKF_RW_SESSION | ck.CKF_SERIAL_SESSION);
  try {
    lib.C_Login(session, ck.CKU_SO, soPin);
    lib.C_InitPIN(session, pin);
    lib.C_Logout(session);
  } finally {
    lib.C_CloseSession(session);
  }
}
