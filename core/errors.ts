// The closed set of domain errors: each has its AWS wire name, fault side and retryability.
// Messages must never carry plaintext, key material, PINs or secrets.

export const ERROR_CODES = {
  AccessDeniedException: { fault: 'client', retryable: false },
  AlreadyExistsException: { fault: 'client', retryable: false },
  DependencyTimeoutException: { fault: 'server', retryable: true },
  DisabledException: { fault: 'client', retryable: false },
  DryRunOperationException: { fault: 'client', retryable: false },
  IncorrectKeyException: { fault: 'client', retryable: false },
  IncorrectKeyMaterialException: { fault: 'client', retryable: false },
  ExpiredImportTokenException: { fault: 'client', retryable: false },
  InvalidImportTokenException: { fault: 'client', retryable: false },
  IncompleteSignatureException: { fault: 'client', retryable: false },
  InvalidAliasNameException: { fault: 'client', retryable: false },
  InvalidArnException: { fault: 'client', retryable: false },
  InvalidCiphertextException: { fault: 'client', retryable: false },
  InvalidGrantTokenException: { fault: 'client', retryable: false },
  InvalidKeyUsageException: { fault: 'client', retryable: false },
  InvalidMarkerException: { fault: 'client', retryable: false },
  InvalidSignatureException: { fault: 'client', retryable: false },
  KMSInternalException: { fault: 'server', retryable: true },
  KMSInvalidMacException: { fault: 'client', retryable: false },
  KMSInvalidSignatureException: { fault: 'client', retryable: false },
  KMSInvalidStateException: { fault: 'client', retryable: false },
  LimitExceededException: { fault: 'client', retryable: false },
  MalformedPolicyDocumentException: { fault: 'client', retryable: false },
  MissingAuthenticationTokenException: { fault: 'client', retryable: false },
  NotFoundException: { fault: 'client', retryable: false },
  CustomKeyStoreNotFoundException: { fault: 'client', retryable: false },
  RequestEntityTooLargeException: { fault: 'client', retryable: false },
  SerializationException: { fault: 'client', retryable: false },
  TagException: { fault: 'client', retryable: false },
  ThrottlingException: { fault: 'client', retryable: true },
  UnknownOperationException: { fault: 'client', retryable: false },
  UnrecognizedClientException: { fault: 'client', retryable: false },
  UnsupportedOperationException: { fault: 'client', retryable: false },
  ValidationException: { fault: 'client', retryable: false },
  EntityAlreadyExistsException: { fault: 'client', retryable: false },
  NoSuchEntityException: { fault: 'client', retryable: false },
  DeleteConflictException: { fault: 'client', retryable: false },
} as const satisfies Record<string, { fault: 'client' | 'server'; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A domain error. `message` is what the caller sees; it must hold nothing secret. */
export class KmsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = code;
    this.code = code;
  }
  get fault(): 'client' | 'server' {
    return ERROR_CODES[this.code].fault;
  }
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }
}

export function isKmsError(e: unknown): e is KmsError {
  return e instanceof KmsError;
}

/** AWS's message for a paging marker it did not hand out. */
export const INVALID_MARKER_MESSAGE =
  'The request was rejected because the marker that specifies where pagination should next begin is not valid.';

/** Precondition helper in the AWS Encryption SDK's style: the message names the rule a test repeats. */
export function needs(condition: unknown, code: ErrorCode, message: string): asserts condition {
  if (!condition) throw new KmsError(code, message);
}

/** AWS's wording for one constraint violation of a request member. */
export function validationError(member: string, value: string | null, constraint: string): KmsError {
  const at = value === null ? `Value null at '${member}'` : `Value '${value}' at '${member}'`;
  return new KmsError(
    'ValidationException',
    `1 validation error detected: ${at} failed to satisfy constraint: ${constraint}`,
  );
}

export const INVALID_CIPHERTEXT_MESSAGE =
  'The ciphertext is not valid, or the key, key version or encryption context does not match it.';

export function invalidCiphertext(): KmsError {
  // AWS answers every undecryptable blob the same way, and says nothing about why.
  return new KmsError('InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
}

export function internalError(cause?: unknown): KmsError {
  return new KmsError('KMSInternalException', 'The request failed because of an internal error. Try again.', { cause });
}

export function dependencyError(what: string, cause?: unknown): KmsError {
  return new KmsError('DependencyTimeoutException', `The ${what} is not available. Try again.`, { cause });
}
