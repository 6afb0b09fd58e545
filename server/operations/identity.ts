// Thin handlers for CofferIdentity.: validated input in, a core service called, IAM's response shape out.
import type { User } from '../../core/identity-model.js';
import type { AccessKey } from '../../core/model.js';
import type { RequestContext, ServiceDeps } from '../../core/services/context.js';
import { userArn } from '../../core/services/credentials.js';
import {
  createAccessKey, createAccount, createUser, deleteAccessKey, deleteUser, deleteUserPolicy, getUserPolicy, listAccessKeys,
  getUser, listUserPolicies, listUsers, putUserPolicy, updateAccessKey,
} from '../../core/services/identity.js';
import { listUserTags, tagUser, untagUser, type UserTag } from '../../core/services/user-tags.js';
import type { IdentityOperation, IdentityRequest } from '../../sdk/contract/identity.js';
import { epoch, IAM_PAGE, pageOf } from './shape.js';

type Handler<O extends IdentityOperation> = (deps: ServiceDeps, ctx: RequestContext, input: IdentityRequest<O>) => Promise<object>;
export type IdentityHandlers = { [O in IdentityOperation]: Handler<O> };

const userShape = (u: User) => ({ UserName: u.userName, UserId: u.userId, Arn: userArn(u.accountId, u.userName), Path: '/', CreateDate: epoch(u.createdAt) });
/** CreateUser and GetUser name the user's tags, as IAM does, when it has any. */
const taggedUserShape = (u: User, tags: readonly UserTag[]) => ({ ...userShape(u), ...(tags.length > 0 ? { Tags: tags } : {}) });
const keyMeta = (k: AccessKey) => ({ UserName: k.userName, AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: epoch(k.createdAt) });
const newKey = (r: { key: AccessKey; secretAccessKey: string }) => ({ AccessKey: { ...keyMeta(r.key), SecretAccessKey: r.secretAccessKey } });

export const identityHandlers: IdentityHandlers = {
  CreateAccount: async (d, c, i) => {
    const r = await createAccount(d, c, i);
    const a = r.account;
    return { Account: { AccountId: a.accountId, AccountName: a.name, Arn: `arn:aws:iam::${a.accountId}:root` }, ...newKey(r) };
  },
  CreateUser: async (d, c, i) => ({ User: taggedUserShape(await createUser(d, c, i.UserName, i.Tags), i.Tags ?? []) }),
  DeleteUser: async (d, c, i) => (await deleteUser(d, c, i.UserName), {}),
  GetUser: async (d, c, i) => {
    const { user, tags } = await getUser(d, c, i.UserName);
    return { User: taggedUserShape(user, tags) };
  },
  ListUsers: async (d, c, i) => pageOf(await listUsers(d, c), i.MaxItems ?? 100, i.Marker, 'Users', userShape, IAM_PAGE),
  CreateAccessKey: async (d, c, i) => newKey(await createAccessKey(d, c, i.UserName)),
  UpdateAccessKey: async (d, c, i) => (await updateAccessKey(d, c, i), {}),
  DeleteAccessKey: async (d, c, i) => (await deleteAccessKey(d, c, i), {}),
  ListAccessKeys: async (d, c, i) => pageOf(await listAccessKeys(d, c, i.UserName), i.MaxItems ?? 100, i.Marker, 'AccessKeyMetadata', keyMeta, IAM_PAGE),
  PutUserPolicy: async (d, c, i) => (await putUserPolicy(d, c, i), {}),
  GetUserPolicy: async (d, c, i) => {
    const p = await getUserPolicy(d, c, i.UserName, i.PolicyName);
    return { UserName: p.userName, PolicyName: p.policyName, PolicyDocument: p.document };
  },
  DeleteUserPolicy: async (d, c, i) => (await deleteUserPolicy(d, c, i.UserName, i.PolicyName), {}),
  TagUser: async (d, c, i) => (await tagUser(d, c, i.UserName, i.Tags), {}),
  UntagUser: async (d, c, i) => (await untagUser(d, c, i.UserName, i.TagKeys), {}),
  ListUserTags: async (d, c, i) => pageOf(await listUserTags(d, c, i.UserName), i.MaxItems ?? 100, i.Marker, 'Tags', (t) => t, IAM_PAGE),
  ListUserPolicies: async (d, c, i) => pageOf(await listUserPolicies(d, c, i.UserName), i.MaxItems ?? 100, i.Marker, 'PolicyNames', (n) => n, IAM_PAGE),
};
