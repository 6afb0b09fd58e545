// Runs the coffer CLI's main() in this process with captured streams (for fast help and wire-shape checks).
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../sdk/cli/main.js';

export async function runMain(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(args, { stdin: Readable.from([]), stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}
