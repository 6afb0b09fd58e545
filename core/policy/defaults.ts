// The default key policy (the account root gets kms:*, which enables identity policies) and the admin's implicit policy.
import { parsePolicy, type PolicyDocument } from './document.js';

export const DEFAULT_POLICY_NAME = 'default';

/** AWS's default key policy, byte for byte in shape: one statement giving the account root kms:*. */
export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );
}

/** An account's `admin` user has full rights in its account: as if it had this identity policy. */
export const ADMIN_IDENTITY_POLICY: PolicyDocument = parsePolicy(
  JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: '*', Resource: '*' } }),
  'identity',
);
