// A small structured JSON logger on stderr. Callers pass facts, never secrets; errors are reduced to
// their name, code and stack frames, because driver messages can carry bound parameters.
import { isKmsError } from '../core/errors.js';

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What may be logged of an error: no message text of foreign errors (Drizzle's include bound values). */
export function describeError(e: unknown): Record<string, unknown> {
  if (isKmsError(e)) return { code: e.code, message: e.message, cause: e.cause === undefined ? undefined : describeError(e.cause) };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const frames = (e.stack ?? '').split('\n').slice(1, 6).map((l) => l.trim());
    return { name: e.name, code: typeof code === 'string' || typeof code === 'number' ? code : undefined, frames };
  }
  return { type: typeof e };
}

export function createLogger(level: Level, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const emit = (lvl: Exclude<Level, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
