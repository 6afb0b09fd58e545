import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTO_WORKERS_MAX, ConfigError, loadConfig } from '../../server/config.js';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('configuration', () => {
  it('has the documented defaults: development token, PGlite, us-east-1, 111122223333', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8080, region: 'us-east-1', accountId: '111122223333', databaseUrl: null, admin: null });
    expect(c.hsm).toMatchObject({ dev: true, tokenLabel: 'coffer-dev', pin: null });
    expect(c.dataDir.endsWith('.coffer')).toBe(true);
  });

  it('reports one message per bad value, all at once', () => {
    const p = problems({ COFFER_PORT: '70000', COFFER_REGION: 'mars', COFFER_ACCOUNT_ID: 'abc', DATABASE_URL: 'mysql://x', COFFER_ADMIN_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' });
    expect(p.map((m) => m.split(':')[0])).toEqual(expect.arrayContaining(['COFFER_PORT', 'COFFER_REGION', 'COFFER_ACCOUNT_ID', 'DATABASE_URL']));
    expect(p.some((m) => m.startsWith('COFFER_ADMIN_ACCESS_KEY_ID and COFFER_ADMIN_SECRET_ACCESS_KEY'))).toBe(true);
  });

  it('several workers need Postgres: PGlite cannot be shared by processes', () => {
    expect(problems({ COFFER_WORKERS: '2' })).toEqual(['COFFER_WORKERS: more than 1 needs Postgres (DATABASE_URL); PGlite cannot be shared by processes']);
    expect(loadConfig({ COFFER_WORKERS: '2', DATABASE_URL: 'postgres://u@h/db' }).workers).toBe(2);
    expect(loadConfig({}).workers).toBe(1);
  });

  it('COFFER_TRUSTED_PROXIES: none by default; addresses and CIDR ranges separated by commas; a bad entry named', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ COFFER_TRUSTED_PROXIES: ' 10.0.0.0/8, ::1 ,' }).trustedProxies).toEqual(['10.0.0.0/8', '::1']);
    expect(problems({ COFFER_TRUSTED_PROXIES: '10.0.0.0/8, ingress.local' })).toEqual([
      "COFFER_TRUSTED_PROXIES: not an IP address or CIDR range: 'ingress.local': give IP addresses or CIDR ranges separated by commas",
    ]);
  });

  it('COFFER_HELPER_THREAD_NICE: 5 by default, 0 to leave the threads alone, at most 19', () => {
    expect(loadConfig({}).helperThreadNice).toBe(5);
    expect(loadConfig({ COFFER_HELPER_THREAD_NICE: '0' }).helperThreadNice).toBe(0);
    expect(problems({ COFFER_HELPER_THREAD_NICE: '20' }).map((m) => m.split(':')[0])).toEqual(['COFFER_HELPER_THREAD_NICE']);
  });

  it('COFFER_WORKERS=auto (the default): one per core up to 4 on Postgres, one on PGlite; a number is taken as given', () => {
    const perCore = Math.max(1, Math.min(availableParallelism(), AUTO_WORKERS_MAX));
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).workers).toBe(perCore);
    expect(loadConfig({ COFFER_WORKERS: 'auto', DATABASE_URL: 'postgres://u@h/db' }).workers).toBe(perCore);
    expect(loadConfig({ COFFER_WORKERS: 'auto' }).workers).toBe(1);
    expect(loadConfig({ COFFER_WORKERS: '1', DATABASE_URL: 'postgres://u@h/db' }).workers).toBe(1);
    expect(loadConfig({ COFFER_WORKERS: '6', DATABASE_URL: 'postgres://u@h/db' }).workers).toBe(6);
    expect(problems({ COFFER_WORKERS: 'many' }).map((m) => m.split(':')[0])).toEqual(['COFFER_WORKERS']);
  });

  it('COFFER_HSM_SYNC_MAX_BYTES: auto by default (decided with the module and workers at start), else a size up to 64 KiB', () => {
    expect(loadConfig({}).hsm.syncMaxBytes).toBe('auto');
    expect(loadConfig({ COFFER_HSM_SYNC_MAX_BYTES: '0' }).hsm.syncMaxBytes).toBe(0);
    expect(loadConfig({ COFFER_HSM_SYNC_MAX_BYTES: '4096' }).hsm.syncMaxBytes).toBe(4096);
    expect(problems({ COFFER_HSM_SYNC_MAX_BYTES: 'always' }).map((m) => m.split(':')[0])).toEqual(['COFFER_HSM_SYNC_MAX_BYTES']);
    expect(problems({ COFFER_HSM_SYNC_MAX_BYTES: '70000' }).map((m) => m.split(':')[0])).toEqual(['COFFER_HSM_SYNC_MAX_BYTES']);
  });

  it('names a malformed access key id', () => {
    expect(problems({ COFFER_ADMIN_ACCESS_KEY_ID: 'lower', COFFER_ADMIN_SECRET_ACCESS_KEY: 'short' }).map((m) => m.split(':')[0])).toEqual([
      'COFFER_ADMIN_ACCESS_KEY_ID',
      'COFFER_ADMIN_SECRET_ACCESS_KEY',
    ]);
  });

  it('a real HSM needs a token label and exactly one of PIN and PIN file', () => {
    expect(problems({ COFFER_PKCS11_MODULE: '/x.so' })).toEqual([
      'COFFER_PKCS11_TOKEN_LABEL: required with COFFER_PKCS11_MODULE',
      'COFFER_PKCS11_PIN or COFFER_PKCS11_PIN_FILE: required with COFFER_PKCS11_MODULE',
    ]);
    expect(problems({ COFFER_PKCS11_MODULE: '/x.so', COFFER_PKCS11_TOKEN_LABEL: 't', COFFER_PKCS11_PIN: '1', COFFER_PKCS11_PIN_FILE: '/p' })).toEqual([
      'COFFER_PKCS11_PIN and COFFER_PKCS11_PIN_FILE: set one, not both',
    ]);
  });

  it('reads the PIN from a file and never prints it, nor the database password or admin secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    writeFileSync(join(dir, 'pin'), 'pin-canary-1234\n');
    const c = loadConfig({
      COFFER_PKCS11_MODULE: '/x.so',
      COFFER_PKCS11_TOKEN_LABEL: 't',
      COFFER_PKCS11_PIN_FILE: join(dir, 'pin'),
      DATABASE_URL: 'postgres://u:db-password-canary@h/db',
      COFFER_ADMIN_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      COFFER_ADMIN_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    expect(c.hsm.pin?.reveal()).toBe('pin-canary-1234');
    for (const printed of [JSON.stringify(c), inspect(c, { depth: 10 }), `${c.hsm.pin}`]) {
      expect(printed).not.toContain('pin-canary-1234');
      expect(printed).not.toContain('db-password-canary');
      expect(printed).not.toContain('wJalrXUtnFEMI');
    }
  });

  it('names an unreadable PIN file without failing on other values', () => {
    expect(problems({ COFFER_PKCS11_MODULE: '/x.so', COFFER_PKCS11_TOKEN_LABEL: 't', COFFER_PKCS11_PIN_FILE: '/nonexistent/pin' })).toEqual([
      'COFFER_PKCS11_PIN_FILE: cannot read /nonexistent/pin (ENOENT)',
    ]);
  });
});
