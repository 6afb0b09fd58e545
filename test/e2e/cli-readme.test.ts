// The README's AWS CLI example, run exactly as written (only the endpoint changes) against a spawned server
// whose administrator credentials were generated into <dataDir>/admin-credentials, then a few more CLI calls, and
// imported key material with its on-demand rotation through the AWS CLI and OpenSSL (botocore as a second client).
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startCoffer, type CofferProcess } from '../helpers/server.js';

const README_ENDPOINT_LINE = 'ENDPOINT=http://127.0.0.1:8080';

/** The ```sh block between the cli-example markers of README.md. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- cli-example:start -->\s*```sh\n([\s\S]*?)```\s*<!-- cli-example:end -->/.exec(readme);
  if (!m?.[1]) throw new Error('README.md has no ```sh block between <!-- cli-example:start --> and <!-- cli-example:end -->');
  return m[1];
}

/** Where `aws` resolves on PATH, or a failure that says how to get it (never a silent pass). */
function requireAwsCli(): string {
  const found = spawnSync('bash', ['-c', 'command -v aws'], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) {
    throw new Error(
      'The AWS CLI (`aws`) is not on PATH, so the README example cannot be tested. ' +
        'Install it (./scripts/test installs the Debian `awscli` package: apt-get install awscli) and run again.',
    );
  }
  return path;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command asynchronously (the server's output pipes keep draining meanwhile). */
function run(file: string, args: string[], env: Record<string, string>, cwd: string, stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, cwd, encoding: 'utf8', timeout: 45_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

function show(r: Run): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

let coffer: CofferProcess;
let work: string;
let cliEnv: Record<string, string>;
let awsVersion = '';

beforeAll(async () => {
  requireAwsCli();
  coffer = await startCoffer({ generatedAdmin: true });
  work = mkdtempSync(join(tmpdir(), 'coffer-cli-'));
  const home = join(work, 'home');
  mkdirSync(home);
  const cwd = join(work, 'cwd');
  mkdirSync(cwd);
  symlinkSync(coffer.dataDir, join(cwd, '.coffer'));
  // A clean environment: no credentials, config or region from the machine running the tests.
  cliEnv = { PATH: process.env.PATH ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '', LANG: 'C.UTF-8' };
  const v = await run('aws', ['--version'], cliEnv, cwd);
  awsVersion = `${v.stdout}${v.stderr}`.trim();
});

afterAll(async () => {
  await coffer?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  if (coffer) rmSync(coffer.dataDir, { recursive: true, force: true });
});

describe('the README AWS CLI example', () => {
  const cwd = () => join(work, 'cwd');
  const profileEnv = () => ({ ...cliEnv, AWS_SHARED_CREDENTIALS_FILE: '.coffer/admin-credentials', AWS_PROFILE: 'coffer' });
  const aws = (args: string[], env: Record<string, string> = profileEnv()) => run('aws', [...args, '--endpoint-url', coffer.url], env, cwd());

  it('prints "hello, coffer" when run as written against the server', async () => {
    const example = readmeExample();
    const lines = example.split('\n');
    expect(lines.filter((l) => l === README_ENDPOINT_LINE), 'the README example sets ENDPOINT on a line of its own').toHaveLength(1);
    const script = lines.map((l) => (l === README_ENDPOINT_LINE ? `ENDPOINT=${coffer.url}` : l)).join('\n');

    const r = await run('bash', ['-euo', 'pipefail', '-s'], cliEnv, cwd(), script);
    expect(r.code, `${awsVersion}\n${show(r)}\n--- server ---\n${coffer.logs()}`).toBe(0);
    expect(r.stdout).toBe('hello, coffer');
  });

  it('refuses to decrypt under another encryption context with InvalidCiphertextException', async () => {
    const r = await aws(['kms', 'decrypt', '--ciphertext-blob', 'fileb://secret.bin', '--encryption-context', 'app=other', '--query', 'Plaintext', '--output', 'text']);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr).toContain('InvalidCiphertextException');
    expect(r.stdout).toBe('');
  });

  it('lists the key the example created', async () => {
    const used = await aws(['kms', 'decrypt', '--ciphertext-blob', 'fileb://secret.bin', '--encryption-context', 'app=demo', '--query', 'KeyId', '--output', 'text']);
    expect(used.code, show(used)).toBe(0);
    const keyArn = used.stdout.trim();
    expect(keyArn).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/);

    const r = await aws(['kms', 'list-keys', '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    const listed = JSON.parse(r.stdout) as { Keys: { KeyId: string; KeyArn: string }[] };
    expect(listed.Keys).toContainEqual({ KeyId: keyArn.split('/')[1], KeyArn: keyArn });

    const d = await aws(['kms', 'describe-key', '--key-id', keyArn, '--query', 'KeyMetadata.[Description,KeyState]', '--output', 'text']);
    expect(d.code, show(d)).toBe(0);
    expect(d.stdout.trim().split(/\s+/)).toEqual(['demo', 'Enabled']);
  });

  it('refuses a request signed with a wrong secret with InvalidSignatureException', async () => {
    const file = readFileSync(join(coffer.dataDir, 'admin-credentials'), 'utf8');
    const accessKeyId = /aws_access_key_id\s*=\s*(\S+)/.exec(file)?.[1];
    if (!accessKeyId) throw new Error(`no aws_access_key_id in admin-credentials:\n${file}`);
    const env = {
      ...cliEnv,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'wrongwrongwrongwrongwrongwrongwrongwrong',
      AWS_DEFAULT_REGION: 'us-east-1',
      // No profile: the credentials file of the data directory must not be read.
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-such-credentials'),
      AWS_CONFIG_FILE: join(work, 'no-such-config'),
    };
    const r = await aws(['kms', 'list-keys'], env);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr).toContain('InvalidSignatureException');
  });
});

describe('bring your own key through the AWS CLI and OpenSSL, as AWS documents it', () => {
  const cwd = () => join(work, 'cwd');
  const aws = async (args: string[]): Promise<string> => {
    const env = { ...cliEnv, AWS_SHARED_CREDENTIALS_FILE: '.coffer/admin-credentials', AWS_PROFILE: 'coffer' };
    const r = await run('aws', ['kms', ...args, '--endpoint-url', coffer.url], env, cwd());
    expect(r.code, `aws kms ${args.join(' ')}\n${awsVersion}\n${show(r)}`).toBe(0);
    return r.stdout.trim();
  };
  const sh = async (script: string) => {
    const r = await run('bash', ['-euo', 'pipefail', '-s'], cliEnv, cwd(), script);
    expect(r.code, show(r)).toBe(0);
  };

  /** GetParametersForImport, OpenSSL's RSAES-OAEP-SHA-256 of the material file, ImportKeyMaterial; the KeyMaterialId. */
  async function importMaterial(keyId: string, file: string, extra: string[] = []): Promise<string> {
    const [publicKey, token] = (await aws(['get-parameters-for-import', '--key-id', keyId, '--wrapping-algorithm', 'RSAES_OAEP_SHA_256', '--wrapping-key-spec', 'RSA_2048',
      '--query', '[PublicKey,ImportToken]', '--output', 'text'])).split('\t');
    await sh(`echo '${publicKey}' | base64 -d > wrapping.der; echo '${token}' | base64 -d > token.bin
openssl pkeyutl -encrypt -in ${file} -out wrapped.bin -inkey wrapping.der -keyform DER -pubin \\
  -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256`);
    return aws(['import-key-material', '--key-id', keyId, '--encrypted-key-material', 'fileb://wrapped.bin', '--import-token', 'fileb://token.bin',
      '--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra, '--query', 'KeyMaterialId', '--output', 'text']);
  }

  it('imports material, then new material for an on-demand rotation; rotates, lists and deletes by key material id', async () => {
    const keyId = await aws(['create-key', '--origin', 'EXTERNAL', '--query', 'KeyMetadata.KeyId', '--output', 'text']);
    await sh('openssl rand -out first.bin 32; openssl rand -out second.bin 32');
    const first = await importMaterial(keyId, 'first.bin');
    const second = await importMaterial(keyId, 'second.bin', ['--import-type', 'NEW_KEY_MATERIAL', '--key-material-description', 'next']);
    const materials = async () => (await aws(['list-key-rotations', '--key-id', keyId, '--include-key-material', 'ALL_KEY_MATERIAL',
      '--query', 'Rotations[].[KeyMaterialId,KeyMaterialState,ImportState]', '--output', 'text'])).split('\n').map((l) => l.split('\t'));
    expect(await materials()).toEqual([[first, 'CURRENT', 'IMPORTED'], [second, 'PENDING_ROTATION', 'IMPORTED']]);
    await aws(['rotate-key-on-demand', '--key-id', keyId]);
    expect(await aws(['describe-key', '--key-id', keyId, '--query', 'KeyMetadata.CurrentKeyMaterialId', '--output', 'text'])).toBe(second);
    expect(await aws(['delete-imported-key-material', '--key-id', keyId, '--key-material-id', first, '--query', 'KeyMaterialId', '--output', 'text'])).toBe(first);
    expect(await materials()).toEqual([[first, 'NON_CURRENT', 'PENDING_IMPORT'], [second, 'CURRENT', 'IMPORTED']]);
    expect(await importMaterial(keyId, 'first.bin', ['--key-material-id', first])).toBe(first);
    expect(await aws(['describe-key', '--key-id', keyId, '--query', 'KeyMetadata.KeyState', '--output', 'text'])).toBe('Enabled');
  });
});
