// The backup drill behind scripts/backup-drill: source server → corpus → dump DB, then copy token → restore → decrypt all.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import postgres from 'postgres';

const ROOT = resolve(import.meta.dirname, '..');
const ADMIN = { accessKeyId: 'AKIADRILLDRILLDRILL2', secretAccessKey: randomBytes(30).toString('base64') };
const args = new Set(process.argv.slice(2));
const ADMIN_URL = process.env.COFFER_DRILL_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const say = (msg: string) => process.stderr.write(`[backup-drill] ${msg}\n`);

interface Server { url: string; child: ChildProcess; stop(): Promise<number | null> }
interface Entry { keyId: string; ciphertext: string; context: Record<string, string>; sha256: string }

function startServer(dataDir: string, databaseUrl: string | null): Promise<Server> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', COFFER_PORT: '0', COFFER_DATA_DIR: dataDir,
    COFFER_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId, COFFER_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  return new Promise((res, rej) => {
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        const e = line.startsWith('{') ? (JSON.parse(line.endsWith('}') ? line : '{}') as { msg?: string; url?: string }) : {};
        if (e.msg === 'listening' && e.url) {
          const stop = () => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : (child.once('exit', r), child.kill('SIGTERM'))));
          return res({ url: e.url, child, stop });
        }
      }
    });
    child.once('exit', (code) => rej(new Error(`server exited with ${code} before listening:\n${out.slice(-2000)}`)));
  });
}

const client = (url: string) => new KMSClient({ endpoint: url, region: 'us-east-1', credentials: ADMIN, maxAttempts: 1 });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function recordCorpus(kms: KMSClient): Promise<Entry[]> {
  const corpus: Entry[] = [];
  for (let k = 0; k < 3; k++) {
    const keyId = (await kms.send(new CreateKeyCommand({ Description: `backup drill ${k}` }))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 5; i++) {
      const plaintext = randomBytes(1 + i * 300);
      const context = { drill: `k${k}-m${i}` };
      const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }));
      corpus.push({ keyId, ciphertext: Buffer.from(enc.CiphertextBlob!).toString('base64'), context, sha256: sha(plaintext) });
    }
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    corpus.push({ keyId, ciphertext: Buffer.from(dk.CiphertextBlob!).toString('base64'), context: {}, sha256: sha(dk.Plaintext!) });
  }
  return corpus;
}

async function decryptAll(kms: KMSClient, corpus: Entry[]): Promise<number> {
  let ok = 0;
  for (const e of corpus) {
    try {
      const r = await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(e.ciphertext, 'base64'), EncryptionContext: e.context }));
      if (r.KeyId?.endsWith(e.keyId) && sha(r.Plaintext!) === e.sha256) ok++;
      else say(`MISMATCH for a ciphertext of ${e.keyId}`);
    } catch (err) {
      say(`FAILED to decrypt a ciphertext of ${e.keyId}: ${(err as Error).name}`);
    }
  }
  return ok;
}

/** A fresh database on the admin URL's server; null when no Postgres answers (the drill then uses PGlite). */
async function createDatabase(name: string): Promise<string | null> {
  const admin = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    return u.toString();
  } catch {
    return null;
  } finally {
    await admin.end({ timeout: 2 });
  }
}

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
  await admin.end({ timeout: 2 });
}

/** The token's files: SoftHSM token directory and the PIN files (softhsm2.conf is rewritten for the new directory). */
function backupToken(dataDir: string, backupDir: string): void {
  cpSync(join(dataDir, 'tokens'), join(backupDir, 'tokens'), { recursive: true });
  for (const f of ['pkcs11.pin', 'pkcs11.so-pin']) cpSync(join(dataDir, f), join(backupDir, f));
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'coffer-drill-'));
  const [source, backup, restored] = ['source', 'backup', 'restored'].map((d) => join(work, d)) as [string, string, string];
  const tag = randomBytes(4).toString('hex');
  const names = [`coffer_drill_src_${tag}`, `coffer_drill_dst_${tag}`] as const;
  const srcUrl = args.has('--pglite') ? null : await createDatabase(names[0]);
  say(srcUrl ? 'database: Postgres (pg_dump -Fc / pg_restore)' : 'database: PGlite (copy of its directory while stopped)');
  const servers: Server[] = [];
  try {
    const a = await startServer(source, srcUrl);
    servers.push(a);
    const corpus = await recordCorpus(client(a.url));
    writeFileSync(join(work, 'corpus.json'), JSON.stringify(corpus));
    // 1. The database first (online, consistent), 2. then the token: a token newer than the dump holds extra keys,
    // harmless; a token older than the dump would lack keys the database names.
    if (srcUrl) execFileSync('pg_dump', ['-Fc', '-f', join(work, 'db.dump'), srcUrl]);
    if ((await a.stop()) !== 0) throw new Error('the source server did not shut down cleanly');
    mkdirSync(backup, { recursive: true });
    if (!srcUrl) cpSync(join(source, 'pglite'), join(backup, 'pglite'), { recursive: true });
    if (!args.has('--omit-token')) backupToken(source, backup);
    say(`backed up: ${corpus.length} ciphertexts recorded under 3 keys`);

    // Restore into a fresh data directory and a fresh database.
    cpSync(backup, restored, { recursive: true });
    let dstUrl: string | null = null;
    if (srcUrl) {
      dstUrl = await createDatabase(names[1]);
      if (!dstUrl) throw new Error('cannot create the restore database');
      execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '-d', dstUrl, join(work, 'db.dump')]);
    }
    const b = await startServer(restored, dstUrl);
    servers.push(b);
    const ok = await decryptAll(client(b.url), corpus);
    say(`decrypted ${ok}/${corpus.length} after restore`);
    return ok === corpus.length ? 0 : 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (srcUrl) await Promise.all(names.map(dropDatabase));
    if (args.has('--keep')) say(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    say(`drill failed: ${(e as Error).message}`);
    process.exit(2);
  },
);
