// Streams 1 GiB through envelope encrypt and decrypt (a file in between) and through node:crypto AES-256-GCM alone,
// each phase in its own process, and reports throughput and peak RSS. Usage: npm run bench:envelope [-- --mib N]
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptStream, encryptStream, staticMaterials } from '../sdk/envelope/index.js';

const CHUNK = 1024 * 1024;
// A fixed data key (the phases run in separate processes); KMS costs one GenerateDataKey per message, not measured here.
const materials = staticMaterials({ dataKey: Buffer.alloc(32, 0x42), encryptedDataKey: Buffer.alloc(64, 0x17), keyArn: 'arn:aws:kms:us-east-1:111122223333:key/bench' });

function* source(mib: number): Generator<Buffer> {
  const block = randomBytes(CHUNK);
  for (let i = 0; i < mib; i++) yield block;
}

const sink = () => new Writable({ highWaterMark: CHUNK, write: (_c, _e, cb) => cb() });

async function phase(name: string, mib: number, file: string): Promise<void> {
  if (name === 'idle') return;
  if (name === 'raw') {
    const c = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12));
    // 64 KiB updates, as the envelope's frames: 1 MiB updates are slower here (a fresh 1 MiB output buffer each).
    for (const b of source(mib)) for (let o = 0; o < b.length; o += 65536) c.update(b.subarray(o, o + 65536));
    c.final();
  } else if (name === 'encrypt-only') {
    await pipeline(source(mib), encryptStream(materials, { keyId: 'bench' }), sink());
  } else if (name === 'encrypt') {
    await pipeline(source(mib), encryptStream(materials, { keyId: 'bench' }), createWriteStream(file));
  } else if (name === 'decrypt') {
    await pipeline(createReadStream(file, { highWaterMark: CHUNK }), decryptStream(materials), sink());
  }
}

async function child(name: string, mib: number, file: string): Promise<void> {
  const start = process.hrtime.bigint();
  await phase(name, mib, file);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ name, seconds, mibPerSecond: mib / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

interface Result { name: string; seconds: number; mibPerSecond: number; peakRssMiB: number }

function run(name: string, mib: number, file: string): Result {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--phase', name, '--mib', String(mib), '--file', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Result;
}

const arg = (n: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const mib = Number(arg('mib') ?? 1024);
if (arg('phase')) {
  await child(arg('phase') as string, mib, arg('file') as string);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-bench-'));
  const file = join(dir, 'message.cfe');
  try {
    const idle = run('idle', mib, file);
    const results = ['raw', 'encrypt-only', 'encrypt', 'decrypt'].map((p) => run(p, mib, file));
    const raw = results[0] as Result;
    console.log(`envelope benchmark: ${mib} MiB, 64 KiB frames, node ${process.version}, each phase in its own process`);
    for (const r of results) {
      console.log(`${r.name.padEnd(12)} ${r.mibPerSecond.toFixed(0).padStart(6)} MiB/s  ${r.seconds.toFixed(2).padStart(7)} s  peak RSS ${r.peakRssMiB.toFixed(0).padStart(4)} MiB  ${r.name === 'raw' ? '(node:crypto AES-256-GCM alone, no I/O)' : `${((100 * r.mibPerSecond) / raw.mibPerSecond).toFixed(0)}% of raw`}`);
    }
    console.log(`(an idle process with the same loader peaks at ${idle.peakRssMiB.toFixed(0)} MiB RSS)`);
    console.log(`goals: peak RSS < 150 MiB; encrypt and decrypt >= 50% of raw. encrypt-only discards its output; encrypt writes and decrypt reads a file in ${tmpdir()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
