// Structured JSON logs through pino on stderr, with redaction of secret-bearing fields. Callers pass facts, never
// secrets; errors are reduced to their name, code and stack frames, because driver messages can carry bound parameters.
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';
import { isKmsError } from '../core/errors.js';

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Field names that never reach a log line, at the top level or one or two levels down (a second line of defence). */
const SECRET_FIELDS = [
  'pin', 'soPin', 'password', 'secret', 'secretAccessKey', 'sessionToken', 'authorization', 'plaintext', 'Plaintext',
  'databaseUrl', 'DATABASE_URL', 'COFFER_PKCS11_PIN', 'COFFER_ADMIN_SECRET_ACCESS_KEY', 'key', 'keyMaterial', 'dataKey',
];
export const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
export const REDACTED = '[REDACTED]';

/** What may be logged of an error: no message text of foreign errors (Drizzle's include bound values). */
export function describeError(e: unknown): Record<string, unknown> {
  if (isKmsError(e)) return { code: e.code, message: e.message, cause: e.cause === undefined ? undefined : describeError(e.cause) };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    // Only the `at ...` lines: a multi-line message (Drizzle's `Failed query ... params: ...`) repeats at the stack's top.
    const frames = (e.stack ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('at ')).slice(0, 5);
    return { name: e.name, code: typeof code === 'string' || typeof code === 'number' ? code : undefined, frames };
  }
  return { type: typeof e };
}

/**
 * Logs a rejected promise nobody awaited, and lets the process serve on: Node would end it. Seen once in eight runs of
 * test/e2e/db-faults.test.ts: postgres.js rejected a promise no caller held with `read ECONNRESET` while Postgres
 * stopped under load (porsager/postgres#600 reports the same). No request waits on such a promise, so the work it
 * carried has failed already; thrown exceptions still end the process.
 */
export function serveOnUnhandledRejections(events: { on(event: 'unhandledRejection', fn: (reason: unknown) => void): unknown }, log: Logger): void {
  events.on('unhandledRejection', (reason) => log.error('unhandled promise rejection: serving on', { error: describeError(reason) }));
}

/** A pino logger behind Coffer's Logger interface; `write` replaces stderr (tests). Lines are written synchronously. */
export function createLogger(level: Level, write?: (line: string) => void): Logger {
  const destination: DestinationStream = write
    ? { write: (chunk: string) => write(chunk.replace(/\n$/, '')) }
    : pino.destination({ dest: 2, sync: true });
  const p = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      // Errors are passed through describeError by callers; never let pino serialise a raw one with its message.
      serializers: { err: describeError, error: (e: unknown) => (e instanceof Error ? describeError(e) : e) },
    },
    destination,
  );
  const emit = (lvl: Exclude<Level, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (fields) p[lvl](fields, msg);
    else p[lvl](msg);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
