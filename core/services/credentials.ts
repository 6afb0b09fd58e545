// Access keys: the bootstrap administrator, issuing keys to users, and the secret lookup SigV4 verification needs.
import { randomBytes, randomInt } from 'node:crypto';
import { isKmsError, KmsError } from '../errors.js';
import type { AccessKey, Caller } from '../model.js';
import type { Hsm, Repositories, UnitOfWork } from '../ports.js';

export const ACCESS_KEY_ID = /^[A-Z0-9]{20}$/;
export const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+]{40}$/;

const enc = new TextEncoder();
/** The sealed secret is bound to its access key id, so swapping sealed blobs between rows does not work. */
const sealAad = (accessKeyId: string) => enc.encode(`coffer:access-key:${accessKeyId}`);

export function userArn(accountId: string, userName: string): string {
  return `arn:aws:iam::${accountId}:user/${userName}`;
}

export interface BootstrapAdmin {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Creates the administrator's access key, or replaces its secret when the configuration gives a new one. */
export async function ensureAdmin(uow: UnitOfWork, hsm: Hsm, admin: BootstrapAdmin, now: Date): Promise<void> {
  if (!ACCESS_KEY_ID.test(admin.accessKeyId)) {
    throw new KmsError('ValidationException', 'The administrator access key id must be 20 upper-case letters or digits.');
  }
  if (!SECRET_ACCESS_KEY.test(admin.secretAccessKey)) {
    throw new KmsError('ValidationException', 'The administrator secret access key must be 40 base64 characters.');
  }
  const sealedSecret = await hsm.seal(enc.encode(admin.secretAccessKey), sealAad(admin.accessKeyId));
  const existing = await uow.repos.accessKeys.get(admin.accessKeyId);
  await ensureAccount(uow.repos, admin.accountId, 'default', now);
  await uow.repos.accessKeys.upsert({
    accessKeyId: admin.accessKeyId,
    principalArn: userArn(admin.accountId, 'admin'),
    accountId: admin.accountId,
    userName: 'admin',
    sealedSecret,
    status: 'Active',
    createdAt: existing?.createdAt ?? now,
  });
}

/** True when some access key exists for the administrator of the account. */
export async function adminExists(uow: UnitOfWork, accountId: string): Promise<boolean> {
  return (await uow.repos.accessKeys.listForPrincipal(userArn(accountId, 'admin'))).length > 0;
}

export interface ResolvedCredential {
  secretAccessKey: string;
  caller: Caller;
}

/** The secret and identity of an active access key, or null: SigV4 then answers UnrecognizedClientException. */
export async function lookupCredential(uow: UnitOfWork, hsm: Hsm, accessKeyId: string): Promise<ResolvedCredential | null> {
  if (!ACCESS_KEY_ID.test(accessKeyId)) return null;
  const key: AccessKey | null = await uow.repos.accessKeys.get(accessKeyId);
  if (!key || key.status !== 'Active') return null;
  const secret = await hsm.unseal(key.sealedSecret, sealAad(accessKeyId));
  // A key whose user is gone authenticates no one: DeleteUser refuses while keys exist, but a key created as its user
  // was being deleted (before both took the user's row lock) could outlive it, and would act as the next user of
  // that name.
  const user = await uow.repos.users.get(key.accountId, key.userName);
  if (!user) return null;
  const caller: Caller = { arn: key.principalArn, accountId: key.accountId, userName: key.userName, accessKeyId, userId: user.userId };
  caller.principalTags = await uow.repos.users.tags(key.accountId, key.userName);
  return { secretAccessKey: new TextDecoder().decode(secret), caller };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An IAM-style id: a prefix and upper-case letters and digits, 20 characters in all. */
export function newIamId(prefix: 'AKIA' | 'AIDA'): string {
  let id = prefix;
  while (id.length < 20) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** The account row and its `admin` user, created when missing. */
export async function ensureAccount(repos: Repositories, accountId: string, name: string, now: Date): Promise<void> {
  if (!(await repos.accounts.get(accountId))) await unlessPresent(repos.accounts.insert({ accountId, name, createdAt: now }));
  if (!(await repos.users.get(accountId, 'admin'))) {
    await unlessPresent(repos.users.insert({ accountId, userName: 'admin', userId: newIamId('AIDA'), createdAt: now }));
  }
}

/** Another instance starting at the same moment may insert the same row between our look and our insert: theirs stands. */
async function unlessPresent(insert: Promise<unknown>): Promise<void> {
  try {
    await insert;
  } catch (e) {
    if (!(isKmsError(e) && e.code === 'AlreadyExistsException')) throw e;
  }
}

/** Issues a new active access key to a user; the secret is returned once and stored only sealed by the token. */
export async function issueAccessKey(
  repos: Repositories,
  hsm: Hsm,
  accountId: string,
  userName: string,
  now: Date,
): Promise<{ key: AccessKey; secretAccessKey: string }> {
  const accessKeyId = newIamId('AKIA');
  const secretAccessKey = randomBytes(30).toString('base64');
  const key: AccessKey = {
    accessKeyId,
    principalArn: userArn(accountId, userName),
    accountId,
    userName,
    sealedSecret: await hsm.seal(enc.encode(secretAccessKey), sealAad(accessKeyId)),
    status: 'Active',
    createdAt: now,
  };
  await repos.accessKeys.upsert(key);
  return { key, secretAccessKey };
}
