// The key policy the create-key wizard proposes, shaped as AWS's console writes it: the account root, then the key
// administrators, then the key users with the actions the key's usage allows. DOM-free (unit-tested under Node).

export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';

export const ADMIN_ACTIONS = [
  'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*',
  'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];

/** What the "Allow use of the key" statement grants, by key usage (and, for encryption, symmetric or not). */
export function userActions(usage: KeyUsage, symmetric: boolean): string[] {
  switch (usage) {
    case 'ENCRYPT_DECRYPT':
      return symmetric
        ? ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey']
        : ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:DescribeKey', 'kms:GetPublicKey'];
    case 'SIGN_VERIFY':
      return ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign', 'kms:Verify'];
    case 'GENERATE_VERIFY_MAC':
      return ['kms:DescribeKey', 'kms:GenerateMac', 'kms:VerifyMac'];
    case 'KEY_AGREEMENT':
      return ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:DeriveSharedSecret'];
  }
}

export interface PolicyChoices {
  accountId: string;
  /** IAM ARNs of the key administrators and key users picked. */
  administrators: string[];
  users: string[];
  usage: KeyUsage;
  symmetric: boolean;
}

const principal = (arns: string[]) => ({ AWS: arns.length === 1 ? arns[0] : arns });

/** The policy document as an object (JSON.stringify(..., null, 2) gives the text shown and sent). */
export function keyPolicy(c: PolicyChoices): Record<string, unknown> {
  const statements: Record<string, unknown>[] = [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${c.accountId}:root` }, Action: 'kms:*', Resource: '*' },
  ];
  if (c.administrators.length > 0) {
    statements.push({ Sid: 'Allow access for Key Administrators', Effect: 'Allow', Principal: principal(c.administrators), Action: ADMIN_ACTIONS, Resource: '*' });
  }
  if (c.users.length > 0) {
    statements.push({ Sid: 'Allow use of the key', Effect: 'Allow', Principal: principal(c.users), Action: userActions(c.usage, c.symmetric), Resource: '*' });
  }
  return { Version: '2012-10-17', Id: 'key-consolepolicy-3', Statement: statements };
}

/** The problem with a policy text before it is sent (JSON syntax, an object with Statement), or null. */
export function policySyntaxProblem(text: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `The policy is not valid JSON: ${(e as Error).message}`;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'The policy must be a JSON object.';
  if (!('Statement' in doc)) return 'The policy must have a Statement.';
  return null;
}
