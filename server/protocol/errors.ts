// The one place that maps domain errors to the wire: HTTP status per AWS error name, and the JSON body.
import type { ErrorCode, KmsError } from '../../core/errors.js';

/** AWS KMS answers most client errors with 400; an exhaustive map makes a new error code a compile error here. */
export const HTTP_STATUS = {
  AccessDeniedException: 400,
  AlreadyExistsException: 400,
  DependencyTimeoutException: 503,
  DisabledException: 400,
  DryRunOperationException: 412,
  IncorrectKeyException: 400,
  IncorrectKeyMaterialException: 400,
  ExpiredImportTokenException: 400,
  InvalidImportTokenException: 400,
  IncompleteSignatureException: 400,
  InvalidAliasNameException: 400,
  InvalidArnException: 400,
  InvalidCiphertextException: 400,
  InvalidGrantTokenException: 400,
  InvalidKeyUsageException: 400,
  InvalidMarkerException: 400,
  InvalidSignatureException: 400,
  KMSInternalException: 500,
  KMSInvalidMacException: 400,
  KMSInvalidSignatureException: 400,
  KMSInvalidStateException: 400,
  LimitExceededException: 400,
  MalformedPolicyDocumentException: 400,
  MissingAuthenticationTokenException: 400,
  NotFoundException: 400,
  CustomKeyStoreNotFoundException: 400,
  RequestEntityTooLargeException: 413,
  SerializationException: 400,
  TagException: 400,
  ThrottlingException: 400,
  UnknownOperationException: 400,
  UnrecognizedClientException: 400,
  UnsupportedOperationException: 400,
  ValidationException: 400,
  // IAM's names for the CofferIdentity. operations
  EntityAlreadyExistsException: 409,
  NoSuchEntityException: 404,
  DeleteConflictException: 409,
} as const satisfies Record<ErrorCode, number>;

export function errorBody(e: KmsError): { __type: ErrorCode; message: string } {
  return { __type: e.code, message: e.message };
}
