// Runs scripts/backup-drill: every ciphertext of the recorded corpus decrypts after restoring database and token into
// fresh places (Postgres with pg_dump/pg_restore, and PGlite); without the token backup the drill must fail.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

function drill(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(join(ROOT, 'scripts', 'backup-drill'), args, { cwd: ROOT, encoding: 'utf8', env: process.env, timeout: 170_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

it('restores into a fresh Postgres database and data directory and decrypts the whole corpus', () => {
  const r = drill();
  expect(r.out).toContain('database: Postgres');
  expect(r.out).toMatch(/decrypted 18\/18 after restore/);
  expect(r.status).toBe(0);
}, 180_000);

it('restores a PGlite deployment the same way', () => {
  const r = drill('--pglite');
  expect(r.out).toMatch(/decrypted 18\/18 after restore/);
  expect(r.status).toBe(0);
}, 180_000);

it('fails when the token was not backed up (the database alone cannot decrypt anything)', () => {
  const r = drill('--omit-token');
  expect(r.out).toMatch(/decrypted 0\/18 after restore/);
  expect(r.status).toBe(1);
}, 180_000);
