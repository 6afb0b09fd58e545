// Maps driver and Drizzle errors to KmsError without ever passing on their messages (they can hold bound values).
import { KmsError, dependencyError, internalError, isKmsError } from '../core/errors.js';

const UNIQUE_VIOLATION = '23505';
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '53300']);
const UNAVAILABLE_DRIVER_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/** The error and its causes, outermost first (Drizzle wraps driver errors in DrizzleQueryError). */
function causeChain(e: unknown): object[] {
  const chain: object[] = [];
  for (let cur = e; cur && typeof cur === 'object' && chain.length < 8; cur = (cur as { cause?: unknown }).cause) {
    chain.push(cur);
  }
  return chain;
}

/** The SQLSTATE or driver code of an error or of anything in its cause chain. */
export function errorCode(e: unknown): string | null {
  for (const cur of causeChain(e)) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
  }
  return null;
}

function isUnavailable(code: string | null, e: unknown): boolean {
  if (code !== null) return code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_DRIVER_CODES.has(code);
  // PGlite after close() throws a plain Error without a code.
  return causeChain(e).some((cur) => cur instanceof Error && /^PGlite is closed/.test(cur.message));
}

/**
 * A KmsError for any error: KmsErrors pass unchanged, a unique violation becomes AlreadyExistsException
 * with `alreadyExists` as its message, an unreachable database DependencyTimeoutException, anything else
 * KMSInternalException. The original is kept only as `cause`; never log causes verbatim.
 */
export function wrapDbError(e: unknown, alreadyExists = 'The resource already exists.'): KmsError {
  if (isKmsError(e)) return e;
  const code = errorCode(e);
  if (code === UNIQUE_VIOLATION) return new KmsError('AlreadyExistsException', alreadyExists, { cause: e });
  if (isUnavailable(code, e)) return dependencyError('database', e);
  return internalError(e);
}

/** Runs `fn`, turning whatever it throws into a KmsError. */
export async function guard<T>(fn: () => Promise<T>, alreadyExists?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw wrapDbError(e, alreadyExists);
  }
}
