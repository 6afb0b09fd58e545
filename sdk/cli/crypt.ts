// `coffer encrypt` and `coffer decrypt`: envelope encryption of files of any size, with a progress bar on a TTY.
import { createReadStream, createWriteStream, renameSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptIterable, encryptIterable, kmsMaterials, type DecryptedHeader } from '../envelope/index.js';
import { int, list, pairs, required } from './args.js';
import type { Command, Ctx } from './command.js';
import type { CliIo } from './io.js';

const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** Counts bytes through an iterable and draws a bar on stderr, at most ten times a second. */
async function* progress(source: AsyncIterable<Uint8Array>, total: number | undefined, io: CliIo, label: string): AsyncGenerator<Uint8Array> {
  const show = io.stderr.isTTY === true && total !== undefined && total >= PROGRESS_MIN_BYTES;
  let done = 0;
  let last = 0;
  const draw = () => {
    const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - 40));
    const frac = total ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${(done / 1048576).toFixed(0)} MiB`);
  };
  for await (const chunk of source) {
    done += chunk.length;
    if (show && Date.now() - last > 100) {
      last = Date.now();
      draw();
    }
    yield chunk;
  }
  if (show) {
    draw();
    io.stderr.write('\n');
  }
}

function input(path: string, io: CliIo): { stream: Readable; size: number | undefined } {
  if (path === '-') return { stream: io.stdin, size: undefined };
  const size = statSync(path).size;
  return { stream: createReadStream(path, { highWaterMark: CHUNK }), size };
}

/** Writes to a temporary file beside the target and renames it only when everything succeeded. */
async function output(path: string, io: CliIo, body: AsyncIterable<Uint8Array>): Promise<void> {
  if (path === '-') {
    await pipeline(body, io.stdout as Writable, { end: false });
    return;
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.partial`;
  try {
    await pipeline(body, createWriteStream(tmp, { mode: 0o600 }));
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

const summary = (h: DecryptedHeader | undefined, bytes: number, out: string) => ({
  json: { KeyId: h?.keyArn, EncryptionContext: h?.encryptionContext, FrameSize: h?.frameSize, Bytes: bytes, Out: out },
  text: '',
});

export const encryptCommand: Command = {
  summary: 'envelope-encrypt a file of any size under a KMS key (GenerateDataKey, then AES-256-GCM frames)',
  usage: '--key KEY --in FILE|- --out FILE|- [--context KEY=VALUE]... [--frame-size BYTES]',
  flags: { key: 'string', in: 'string', out: 'string', context: 'list', 'frame-size': 'string' },
  async run({ p, io, client }: Ctx) {
    const keyId = required(p, 'key');
    const out = required(p, 'out');
    const { stream, size } = input(required(p, 'in'), io);
    const encryptionContext = pairs(list(p, 'context'), 'context');
    const frameSize = int(p, 'frame-size', 1, 16 * 1024 * 1024);
    const materials = kmsMaterials(client());
    let header: DecryptedHeader | undefined;
    const body = encryptIterable(progress(stream, size, io, 'encrypting'), {
      ...materials,
      async getEncryptionMaterials(req) {
        const m = await materials.getEncryptionMaterials(req);
        header = { keyArn: m.keyArn, encryptionContext, frameSize: frameSize ?? 65536 };
        return m;
      },
    }, { keyId, encryptionContext, frameSize, plaintextLength: size });
    await output(out, io, body);
    return summary(header, size ?? 0, out);
  },
};

export const decryptCommand: Command = {
  summary: 'decrypt a file made by `coffer encrypt`; the output file appears only if the whole message verifies',
  usage: '--in FILE|- --out FILE|- [--context KEY=VALUE]... (pairs the message must carry)',
  flags: { in: 'string', out: 'string', context: 'list' },
  async run({ p, io, client }: Ctx) {
    const out = required(p, 'out');
    const { stream, size } = input(required(p, 'in'), io);
    let header: DecryptedHeader | undefined;
    let bytes = 0;
    const plain = decryptIterable(progress(stream, size, io, 'decrypting'), kmsMaterials(client()), { encryptionContext: pairs(list(p, 'context'), 'context') }, (h) => (header = h));
    const counted = (async function* () {
      for await (const c of plain) {
        bytes += c.length;
        yield c;
      }
    })();
    await output(out, io, counted);
    return summary(header, bytes, out);
  },
};

