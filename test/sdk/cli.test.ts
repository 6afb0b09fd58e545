// The coffer CLI as a subprocess against the real server: each command group, output modes and exit codes.
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_PATHS } from '../../sdk/cli/main.js';
import { ADMIN, startCoffer, type CofferProcess } from '../helpers/server.js';
import { runCli } from './cli-helpers.js';
import { runMain } from './cli-inprocess.js';

let server: CofferProcess;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'coffer-cli-'));
const cli = (...args: string[]) => runCli(args, env);
const json = async (...args: string[]) => {
  const r = await cli(...args, '--output', 'json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  server = await startCoffer();
  env = { COFFER_ENDPOINT: server.url, AWS_ACCESS_KEY_ID: ADMIN.accessKeyId, AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey };
});
afterAll(async () => {
  await server?.stop();
});

describe('coffer keys', () => {
  it('creates, describes, lists, disables, enables, schedules and cancels deletion', async () => {
    const created = await json('keys', 'create', '--description', 'from the cli', '--tag', 'team=a');
    const id = created.KeyMetadata.KeyId as string;
    expect(created.KeyMetadata.CreationDate).toMatch(/^\d{4}-\d\d-\d\dT/);
    const table = await cli('keys', 'describe', id);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^KeyId\\s+${id}$`, 'm'));
    expect(table.stdout).toMatch(/^Description\s+from the cli$/m);
    const listed = await cli('keys', 'list');
    expect(listed.stdout.split('\n')[0]).toMatch(/^KeyId\s+KeyArn$/);
    expect(listed.stdout).toContain(id);
    expect((await cli('keys', 'disable', id)).code).toBe(0);
    expect((await json('keys', 'describe', id)).KeyMetadata.KeyState).toBe('Disabled');
    expect((await cli('keys', 'enable', id)).code).toBe(0);
    const scheduled = await json('keys', 'schedule-deletion', id, '--days', '7');
    expect(scheduled.KeyState).toBe('PendingDeletion');
    expect((await cli('keys', 'cancel-deletion', id)).code).toBe(0);
    expect((await json('keys', 'describe', id)).KeyMetadata.KeyState).toBe('Disabled');
  });

  it('prints the service error name and message and exits 1', async () => {
    const r = await cli('keys', 'describe', '00000000-0000-0000-0000-000000000000');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^NotFoundException: .+/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 on bad usage: unknown command, unknown flag, missing argument, bad value, no endpoint', async () => {
    for (const args of [['nope'], ['keys', 'nope'], ['keys', 'create', '--bogus'], ['keys', 'describe'], ['keys', 'schedule-deletion', 'k', '--days', 'x'], ['keys', 'list', '--output', 'xml'], []]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toBe('');
    }
    const r = await runCli(['keys', 'list'], { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/COFFER_ENDPOINT/);
  });

  it('finds credentials in the shared credentials file with AWS_PROFILE', async () => {
    const file = join(dir, 'credentials');
    writeFileSync(file, `[coffer]\naws_access_key_id = ${ADMIN.accessKeyId}\naws_secret_access_key = ${ADMIN.secretAccessKey}\n`);
    const r = await runCli(['keys', 'list', '--limit', '1'], { COFFER_ENDPOINT: server.url, AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'coffer' });
    expect(r.code).toBe(0);
  });
});

describe('coffer keys import-material / materials / delete-material', () => {
  it('imports material from a file, then new material for an on-demand rotation; lists both and deletes one', async () => {
    const key = (await json('keys', 'create', '--origin', 'EXTERNAL')).KeyMetadata;
    expect(key.KeyState).toBe('PendingImport');
    const [first, second] = ['material-1.bin', 'material-2.bin'].map((f) => join(dir, f));
    writeFileSync(first!, randomBytes(32));
    writeFileSync(second!, randomBytes(32));
    const a = await json('keys', 'import-material', key.KeyId, '--material-file', first!, '--description', 'first');
    expect(a.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    const b = await json('keys', 'import-material', key.KeyId, '--material-file', second!, '--new', '--valid-to', '2099-01-01T00:00:00Z');
    const table = (await cli('keys', 'materials', key.KeyId)).stdout.split('\n').filter((l) => !/^-+[\s-]*$/.test(l));
    expect(table[0]).toMatch(/^KeyMaterialId\s+KeyMaterialState\s+ImportState\s+ValidTo\s+RotationDate\s+KeyMaterialDescription$/);
    expect(table[1]).toMatch(new RegExp(`^${a.KeyMaterialId}\\s+CURRENT\\s+IMPORTED\\s+.*first$`));
    expect(table[2]).toMatch(new RegExp(`^${b.KeyMaterialId}\\s+PENDING_ROTATION\\s+IMPORTED\\s+2099-01-01T00:00:00`));
    expect((await cli('keys', 'rotate', key.KeyId)).code).toBe(0);
    expect((await json('keys', 'describe', key.KeyId)).KeyMetadata.KeyState).toBe('Enabled');
    expect((await json('keys', 'delete-material', key.KeyId, '--material-id', a.KeyMaterialId)).KeyMaterialId).toBe(a.KeyMaterialId);
    const listed = (await json('keys', 'materials', key.KeyId)).Rotations as Array<{ KeyMaterialState: string; ImportState: string }>;
    expect(listed.map((r) => [r.KeyMaterialState, r.ImportState])).toEqual([['NON_CURRENT', 'PENDING_IMPORT'], ['CURRENT', 'IMPORTED']]);
    // Re-imported from the same file without naming it: found by its value.
    expect((await json('keys', 'import-material', key.KeyId, '--material-file', first!)).KeyMaterialId).toBe(a.KeyMaterialId);
    expect((await json('keys', 'describe', key.KeyId)).KeyMetadata.KeyState).toBe('Enabled');
  });

  it('imports an ECC_NIST_P256 private key (PKCS #8 DER) that then signs what its own public key verifies', async () => {
    const key = (await json('keys', 'create', '--origin', 'EXTERNAL', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY')).KeyMetadata;
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const file = join(dir, 'p256.der');
    writeFileSync(file, pair.privateKey.export({ format: 'der', type: 'pkcs8' }));
    const imported = await json('keys', 'import-material', key.KeyId, '--material-file', file);
    expect(imported.KeyId).toBe(key.Arn);
    expect(imported.KeyMaterialId).toBeUndefined(); // material ids are for symmetric keys
    const sigFile = join(dir, 'p256.sig');
    expect((await cli('sign', '--key', key.KeyId, '--algorithm', 'ECDSA_SHA_256', '--message', 'byok', '--out', sigFile)).code).toBe(0);
    expect(verify('sha256', Buffer.from('byok'), pair.publicKey, readFileSync(sigFile))).toBe(true);
  });

  it('refuses a key of AWS_KMS origin (exit 1), and exits 2 without --material-file or with a bad --valid-to', async () => {
    const own = (await json('keys', 'create')).KeyMetadata.KeyId as string;
    const file = join(dir, 'material-3.bin');
    writeFileSync(file, randomBytes(32));
    const refused = await cli('keys', 'import-material', own, '--material-file', file);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/^UnsupportedOperationException: /)]);
    expect((await cli('keys', 'import-material', own)).code).toBe(2);
    expect((await cli('keys', 'import-material', own, '--material-file', file, '--valid-to', 'soon')).code).toBe(2);
  });
});

describe('coffer aliases', () => {
  it('creates, lists, updates and deletes an alias', async () => {
    const a = (await json('keys', 'create')).KeyMetadata.KeyId;
    const b = (await json('keys', 'create')).KeyMetadata.KeyId;
    expect((await cli('aliases', 'create', 'alias/cli-test', a)).code).toBe(0);
    expect((await cli('aliases', 'list', '--key', a)).stdout).toMatch(new RegExp(`alias/cli-test\\s+${a}`));
    expect((await cli('aliases', 'update', 'alias/cli-test', b)).code).toBe(0);
    expect((await json('aliases', 'list', '--key', b)).Aliases.map((x: { AliasName: string }) => x.AliasName)).toEqual(['alias/cli-test']);
    const dup = await cli('aliases', 'create', 'alias/cli-test', a);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^AlreadyExistsException:/);
    expect((await cli('aliases', 'delete', 'alias/cli-test')).code).toBe(0);
    expect((await cli('aliases', 'list', '--key', b)).stdout).toBe('(none)\n');
  });
});

describe('coffer encrypt / decrypt', () => {
  it('round-trips a multi-frame file with an encryption context, and refuses another context', async () => {
    const key = (await json('keys', 'create')).KeyMetadata;
    const plain = join(dir, 'plain.bin');
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
    writeFileSync(plain, data);
    const sealed = join(dir, 'plain.cfe');
    const enc = await json('encrypt', '--key', key.KeyId, '--in', plain, '--out', sealed, '--context', 'app=cli', '--frame-size', '65536');
    expect(enc).toMatchObject({ KeyId: key.Arn, EncryptionContext: { app: 'cli' }, Bytes: 300_000 });
    expect(readFileSync(sealed).subarray(0, 4).toString()).toBe('CFEV');
    const back = join(dir, 'back.bin');
    const dec = await cli('decrypt', '--in', sealed, '--out', back, '--context', 'app=cli');
    expect(dec.code).toBe(0);
    expect(readFileSync(back).equals(data)).toBe(true);
    // The envelope's data key was opened last: keys last-usage says so, as a table and as the wire's JSON.
    expect((await cli('keys', 'last-usage', key.KeyId)).stdout).toMatch(/^Operation\s+Decrypt$/m);
    expect((await json('keys', 'last-usage', key.Arn)).KeyLastUsage).toMatchObject({ Operation: 'Decrypt', CloudTrailEventId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const wrong = await cli('decrypt', '--in', sealed, '--out', join(dir, 'wrong.bin'), '--context', 'app=other');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^EnvelopeError: .*encryption context/);
    expect(existsSync(join(dir, 'wrong.bin'))).toBe(false);
  });

  it('fails with exit 1 and leaves no output file when the message was tampered with', async () => {
    const key = (await json('keys', 'create')).KeyMetadata.KeyId;
    const plain = join(dir, 'small.txt');
    writeFileSync(plain, 'hello, coffer');
    const sealed = join(dir, 'small.cfe');
    expect((await cli('encrypt', '--key', key, '--in', plain, '--out', sealed)).code).toBe(0);
    const bad = readFileSync(sealed);
    bad[bad.length - 1]! ^= 1;
    writeFileSync(sealed, bad);
    const out = join(dir, 'small.out');
    const r = await cli('decrypt', '--in', sealed, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^EnvelopeError: Frame 1 failed authentication/);
    expect(existsSync(out)).toBe(false);
  });

  it('reads stdin and writes stdout with "-"', async () => {
    const key = (await json('keys', 'create')).KeyMetadata.KeyId;
    const sealed = join(dir, 'stdin.cfe');
    const enc = await runCli(['encrypt', '--key', key, '--in', '-', '--out', sealed], env, Buffer.from('piped'));
    expect(enc.code).toBe(0);
    const dec = await cli('decrypt', '--in', sealed, '--out', '-');
    expect(dec.code).toBe(0);
    expect(dec.stdout).toBe('piped');
  });

  it('exits 2 for a missing input file or a missing --key', async () => {
    expect((await cli('encrypt', '--key', 'k', '--in', join(dir, 'absent'), '--out', join(dir, 'x'))).code).toBe(2);
    expect((await cli('encrypt', '--in', join(dir, 'plain.bin'), '--out', join(dir, 'x'))).code).toBe(2);
  });
});

describe('coffer random', () => {
  it('prints base64 random bytes, or writes raw bytes to a file', async () => {
    const r = await cli('random', '--bytes', '24');
    expect(r.code).toBe(0);
    expect(Buffer.from(r.stdout.trim(), 'base64').length).toBe(24);
    const out = join(dir, 'rand.bin');
    expect((await cli('random', '--bytes', '5', '--out', out)).code).toBe(0);
    expect(readFileSync(out).length).toBe(5);
    expect((await cli('random', '--bytes', '2000')).code).toBe(2);
  });
});

describe('coffer --help', () => {
  it('answers --help on every command with its usage, exit 0 (in process), and as a subprocess', async () => {
    const paths = [...COMMAND_PATHS, 'keys', 'aliases', 'grants', 'iam'];
    expect(COMMAND_PATHS).toEqual(expect.arrayContaining(['keys rotate', 'grants create', 'iam put-user-policy', 'sign', 'verify', 'encrypt']));
    for (const p of paths) {
      const r = await runMain([...p.split(' '), '--help']);
      expect(r.code, p).toBe(0);
      expect(r.stdout, p).toContain(`Usage: coffer ${p}`);
    }
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/audit\s+verify \| export/);
    const sub = await cli('aliases', 'update', '--help');
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('Usage: coffer aliases update alias/NAME KEY');
  });
});
