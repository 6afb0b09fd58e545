// Maps PKCS#11 failures (pkcs11js Pkcs11Error: message "CKR_...", numeric code) to KmsError; messages never hold secrets.
import { type KmsError, dependencyError, internalError, invalidCiphertext, isKmsError } from '../core/errors.js';

/** Codes after which a session is not trusted again: it is closed and replaced. */
const SESSION_FATAL = new Set([
  'CKR_BUFFER_TOO_SMALL',
  'CKR_OPERATION_ACTIVE',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_TOKEN_NOT_PRESENT',
]);

/** Codes meaning the device or our connection to it is in trouble: retryable for the caller. */
const DEPENDENCY = new Set([
  ...SESSION_FATAL,
  'CKR_DEVICE_MEMORY',
  'CKR_SESSION_COUNT',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_FUNCTION_CANCELED',
  'CKR_HOST_MEMORY',
]);

/**
 * What a decrypt answers when the tag, key or AAD do not match. SoftHSM 2.6 says CKR_GENERAL_ERROR for a
 * GCM tag mismatch (measured); other tokens say CKR_ENCRYPTED_DATA_INVALID or ..._LEN_RANGE.
 */
const BAD_CIPHERTEXT = new Set([
  'CKR_ENCRYPTED_DATA_INVALID',
  'CKR_ENCRYPTED_DATA_LEN_RANGE',
  'CKR_GENERAL_ERROR',
  'CKR_FUNCTION_FAILED',
  'CKR_DATA_LEN_RANGE',
]);

/**
 * Failures of C_Encrypt/C_Decrypt after which the token has ended the operation (measured on SoftHSM 2.6:
 * the session takes the next operation). Anything else may leave it active (CKR_ARGUMENTS_BAD does).
 */
const ENDS_OPERATION = new Set(['CKR_GENERAL_ERROR', 'CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE']);
const suspect = new WeakSet<object>();

/** Marks an error of a single-part encrypt or decrypt that may have left the operation active. */
export function afterCryptFailure(e: unknown): unknown {
  const name = ckrName(e);
  if (e instanceof Error && (name === undefined || !ENDS_OPERATION.has(name))) suspect.add(e);
  return e;
}

/** The CKR_ name of a pkcs11js error, or undefined for anything else. */
export function ckrName(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const m = /^CKR_[A-Z0-9_]+/u.exec(e.message);
  return m ? m[0] : undefined;
}

export function isSessionFatal(e: unknown): boolean {
  if (e instanceof Error && suspect.has(e)) return true;
  const name = ckrName(e);
  if (name === undefined) return !isKmsError(e); // a JS error mid-operation may leave one active
  return SESSION_FATAL.has(name);
}

/** A cached object handle went stale (its object was destroyed, or its session's handles forgotten): find it again. */
export function isHandleInvalid(e: unknown): boolean {
  const name = ckrName(e);
  return (
    name === 'CKR_OBJECT_HANDLE_INVALID' ||
    name === 'CKR_KEY_HANDLE_INVALID' ||
    // The same for the key given to C_UnwrapKey or C_WrapKey (a domain key another instance destroyed).
    name === 'CKR_UNWRAPPING_KEY_HANDLE_INVALID' ||
    name === 'CKR_WRAPPING_KEY_HANDLE_INVALID'
  );
}

/** The KmsError for a failure of `op`; decrypting ops map authentication failures to InvalidCiphertextException. */
export function toKmsError(e: unknown, op: 'decrypt' | 'other' = 'other'): KmsError {
  if (isKmsError(e)) return e;
  const name = ckrName(e);
  if (name === undefined) return internalError(e);
  if (op === 'decrypt' && BAD_CIPHERTEXT.has(name)) return invalidCiphertext();
  if (DEPENDENCY.has(name)) return dependencyError('HSM', e);
  return internalError(e);
}
