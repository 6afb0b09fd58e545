// What a CLI command gets to talk to the world: streams and environment (a seam for tests and for sdk/cli/audit.ts).
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
}

export const EXIT_OK = 0;
export const EXIT_SERVICE = 1;
export const EXIT_USAGE = 2;

/** Bad usage: an unknown command or flag, a missing or malformed value. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
