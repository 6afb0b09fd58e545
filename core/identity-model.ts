// Identity records: accounts, users, their inline policies, key policies and grants. Repositories return these.

export interface Account {
  accountId: string;
  name: string;
  createdAt: Date;
}

export interface User {
  accountId: string;
  userName: string;
  /** IAM-style unique id (AIDA + 17 characters). */
  userId: string;
  createdAt: Date;
}

/** An inline identity policy of a user (PutUserPolicy). */
export interface UserPolicy {
  accountId: string;
  userName: string;
  policyName: string;
  document: string;
}

export interface GrantConstraints {
  EncryptionContextSubset?: Record<string, string>;
  EncryptionContextEquals?: Record<string, string>;
}

export interface Grant {
  grantId: string;
  keyId: string;
  /** The account of the key. */
  keyAccountId: string;
  name: string | null;
  granteePrincipal: string;
  retiringPrincipal: string | null;
  /** Grant operation names, e.g. 'Decrypt'. */
  operations: string[];
  constraints: GrantConstraints | null;
  issuingAccount: string;
  /** The grant token: presenting it in GrantTokens names this grant. */
  token: string;
  createdAt: Date;
}
