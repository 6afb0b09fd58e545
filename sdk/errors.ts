// The SDK's errors: one class per AWS error name the service answers with, under CofferServiceError.

export interface ServiceErrorInit {
  message: string;
  status: number;
  requestId?: string | undefined;
}

/** Any error the service answered with: its AWS name, message, HTTP status, request id and whether a retry may help. */
export class CofferServiceError extends Error {
  readonly status: number;
  readonly requestId: string | undefined;
  readonly retryable: boolean;
  constructor(name: string, init: ServiceErrorInit) {
    super(init.message);
    this.name = name;
    this.status = init.status;
    this.requestId = init.requestId;
    this.retryable = isRetryableName(name) || init.status >= 500;
  }
}

/** A failure before any answer: connection refused or reset, DNS, or the request timed out. */
export class CofferNetworkError extends Error {
  override readonly name = 'CofferNetworkError';
  readonly retryable = true;
  /** True when the request cannot have reached the server (the connection was never made). */
  readonly notSent: boolean;
  constructor(message: string, notSent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.notSent = notSent;
  }
}

const RETRYABLE = new Set(['ThrottlingException', 'DependencyTimeoutException', 'KMSInternalException', 'ServiceUnavailableException']);
export const isRetryableName = (name: string): boolean => RETRYABLE.has(name);

type ErrorClass = new (init: ServiceErrorInit) => CofferServiceError;

function define<N extends string>(name: N): ErrorClass {
  const cls = class extends CofferServiceError {
    constructor(init: ServiceErrorInit) {
      super(name, init);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

// KMS (TrentService) errors.
export const AccessDeniedException = define('AccessDeniedException');
export const AlreadyExistsException = define('AlreadyExistsException');
export const CustomKeyStoreNotFoundException = define('CustomKeyStoreNotFoundException');
export const DependencyTimeoutException = define('DependencyTimeoutException');
export const DisabledException = define('DisabledException');
export const DryRunOperationException = define('DryRunOperationException');
export const IncorrectKeyException = define('IncorrectKeyException');
export const IncompleteSignatureException = define('IncompleteSignatureException');
export const InvalidAliasNameException = define('InvalidAliasNameException');
export const InvalidArnException = define('InvalidArnException');
export const InvalidCiphertextException = define('InvalidCiphertextException');
export const InvalidGrantIdException = define('InvalidGrantIdException');
export const InvalidGrantTokenException = define('InvalidGrantTokenException');
export const InvalidKeyUsageException = define('InvalidKeyUsageException');
export const InvalidMarkerException = define('InvalidMarkerException');
export const InvalidSignatureException = define('InvalidSignatureException');
export const KMSInternalException = define('KMSInternalException');
export const KMSInvalidMacException = define('KMSInvalidMacException');
export const KMSInvalidSignatureException = define('KMSInvalidSignatureException');
export const KMSInvalidStateException = define('KMSInvalidStateException');
export const KeyUnavailableException = define('KeyUnavailableException');
export const LimitExceededException = define('LimitExceededException');
export const MalformedPolicyDocumentException = define('MalformedPolicyDocumentException');
export const MissingAuthenticationTokenException = define('MissingAuthenticationTokenException');
export const NotFoundException = define('NotFoundException');
export const RequestEntityTooLargeException = define('RequestEntityTooLargeException');
export const SerializationException = define('SerializationException');
export const TagException = define('TagException');
export const ThrottlingException = define('ThrottlingException');
export const UnknownOperationException = define('UnknownOperationException');
export const UnrecognizedClientException = define('UnrecognizedClientException');
export const UnsupportedOperationException = define('UnsupportedOperationException');
export const ValidationException = define('ValidationException');
// IAM-shaped errors of the CofferIdentity. operations.
export const EntityAlreadyExistsException = define('EntityAlreadyExistsException');
export const NoSuchEntityException = define('NoSuchEntityException');
export const ServiceFailureException = define('ServiceFailureException');

const CLASSES: Record<string, ErrorClass> = {
  AccessDeniedException, AlreadyExistsException, CustomKeyStoreNotFoundException, DependencyTimeoutException,
  DisabledException, DryRunOperationException, IncorrectKeyException, IncompleteSignatureException,
  InvalidAliasNameException, InvalidArnException, InvalidCiphertextException, InvalidGrantIdException,
  InvalidGrantTokenException, InvalidKeyUsageException, InvalidMarkerException, InvalidSignatureException,
  KMSInternalException, KMSInvalidMacException, KMSInvalidSignatureException, KMSInvalidStateException,
  KeyUnavailableException, LimitExceededException, MalformedPolicyDocumentException,
  MissingAuthenticationTokenException, NotFoundException, RequestEntityTooLargeException, SerializationException,
  TagException, ThrottlingException, UnknownOperationException, UnrecognizedClientException,
  UnsupportedOperationException, ValidationException, EntityAlreadyExistsException, NoSuchEntityException,
  ServiceFailureException,
};

/** The AWS error names the SDK has a class for. */
export const ERROR_NAMES: readonly string[] = Object.keys(CLASSES);

/** Builds the error for a wire answer; `__type` may carry a namespace prefix ("ns#Name") as some AWS services send. */
export function serviceError(type: string | undefined, init: ServiceErrorInit): CofferServiceError {
  const name = (type ?? '').split('#').pop()?.split(':')[0]?.trim() || (init.status >= 500 ? 'KMSInternalException' : 'UnknownError');
  const cls = CLASSES[name];
  return cls ? new cls(init) : new CofferServiceError(name, init);
}
