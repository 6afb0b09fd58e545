// The policy Authorizer: AWS KMS's evaluation over key policies, identity (user) policies and grants.
// Explicit Deny anywhere wins; else the key policy for the principal, or the key policy for the principal's account
// together with an identity policy, or a grant; account-level actions are decided by identity policies alone.
import { accessDenied, type AuthorizationRequest, type Authorizer, type ConditionValues } from '../authorization.js';
import type { Grant } from '../identity-model.js';
import type { Caller } from '../model.js';
import type { Repositories } from '../ports.js';
import { ADMIN_IDENTITY_POLICY, defaultKeyPolicy } from './defaults.js';
import { parsePolicy, parseStoredPolicy, type PolicyDocument } from './document.js';
import { evaluatePolicies, evaluatePolicy, type Evaluation, type EvaluationRequest } from './evaluate.js';

/** Operations AWS KMS lets a principal of another account perform on a key (when both policies allow). */
export const CROSS_ACCOUNT_ACTIONS = new Set([
  'kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateMac', 'kms:GetKeyRotationStatus',
  'kms:GetPublicKey', 'kms:ListGrants', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:RetireGrant', 'kms:RevokeGrant', 'kms:Sign',
  'kms:Verify', 'kms:VerifyMac', 'kms:DeriveSharedSecret',
]);

/** Operations that take an encryption context, to which grant constraints apply. */
const CONTEXT_ACTIONS = new Set([
  'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext',
]);

/** The user name every account's administrator has: full rights in its own account. */
export const ADMIN_USER = 'admin';

/** Identity policies of the caller: the administrator's implicit one, else the user's inline policies. */
export async function identityPolicies(repos: Repositories, caller: Caller): Promise<PolicyDocument[]> {
  if (caller.userName === ADMIN_USER) return [ADMIN_IDENTITY_POLICY];
  const stored = await repos.userPolicies.list(caller.accountId, caller.userName);
  return stored.map((p) => parseStoredPolicy(p.document, 'identity'));
}

/** The stored key policy, or the default one for keys that have none. */
export async function keyPolicyText(repos: Repositories, keyId: string, accountId: string): Promise<string> {
  return (await repos.keyPolicies.get(keyId)) ?? defaultKeyPolicy(accountId);
}

/** The encryption context a request carries, rebuilt from its kms:EncryptionContext:<k> condition values. */
export function requestContext(conditions: ConditionValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(conditions)) {
    if (k.startsWith('kms:EncryptionContext:') && typeof v === 'string') out[k.slice('kms:EncryptionContext:'.length)] = v;
  }
  return out;
}

/** Whether a grant lets the caller perform the action with these request values. */
export function grantAllows(grant: Grant, caller: Caller, action: string, conditions: ConditionValues): boolean {
  if (grant.granteePrincipal !== caller.arn) return false;
  if (!grant.operations.some((op) => `kms:${op}` === action)) return false;
  const c = grant.constraints;
  // Constraints bind the operations that take an encryption context; CreateGrant is bound by the subset rule instead.
  if (!c || !CONTEXT_ACTIONS.has(action)) return true;
  const ctx = requestContext(conditions);
  if (c.EncryptionContextEquals) {
    const want = Object.entries(c.EncryptionContextEquals);
    if (want.length !== Object.keys(ctx).length || want.some(([k, v]) => ctx[k] !== v)) return false;
  }
  if (c.EncryptionContextSubset && Object.entries(c.EncryptionContextSubset).some(([k, v]) => ctx[k] !== v)) return false;
  return true;
}

/** Whether policies name the condition keys only the repositories can answer (resource tags, aliases). */
interface Mentions {
  tags: boolean;
  aliases: boolean;
}

function mentionsIn(text: string): Mentions {
  const lower = text.toLowerCase();
  return { tags: lower.includes('aws:resourcetag/'), aliases: lower.includes('kms:resourcealiases') };
}

/**
 * Per policy text and per parsed identity document, computed once: every request used to lowercase and search the
 * key policy and the serialised identity policies again (≈ 1.3 µs a request).
 */
const textMentions = new Map<string, Mentions>();
const TEXT_MENTIONS_MAX = 10_000;
const docMentions = new WeakMap<PolicyDocument, Mentions>();

function mentionsOfText(text: string): Mentions {
  let m = textMentions.get(text);
  if (!m) {
    if (textMentions.size >= TEXT_MENTIONS_MAX) textMentions.clear();
    textMentions.set(text, (m = mentionsIn(text)));
  }
  return m;
}

function mentionsOfDoc(doc: PolicyDocument): Mentions {
  let m = docMentions.get(doc);
  if (!m) docMentions.set(doc, (m = mentionsIn(JSON.stringify(doc))));
  return m;
}

/**
 * Adds the values only the repositories know (resource tags, aliases) when a policy asks for them, to a copy; the
 * request's own values as they are when none does (the common case: nothing reads them but the evaluation).
 */
async function enrich(repos: Repositories, req: AuthorizationRequest, policyText: string, docs: readonly PolicyDocument[]): Promise<ConditionValues> {
  const key = req.key;
  if (!key) return req.conditions;
  const own = mentionsOfText(policyText);
  const named = docs.map(mentionsOfDoc);
  const tags = own.tags || named.some((m) => m.tags);
  const aliases = own.aliases || named.some((m) => m.aliases);
  if (!tags && !aliases) return req.conditions;
  const values: ConditionValues = { ...req.conditions };
  if (tags) {
    for (const t of (await repos.tags.list(key.id, 50, null)).items) values[`aws:ResourceTag/${t.TagKey}`] = t.TagValue;
  }
  if (aliases) {
    values['kms:ResourceAliases'] = (await repos.aliases.list(key.accountId, key.id, 100, null)).items.map((a) => a.name);
  }
  return values;
}

function explicitDeny(e: Evaluation): boolean {
  return e.decision === 'Deny';
}

export const policyAuthorizer: Authorizer = {
  async authorize(repos, caller, request) {
    const identityDocs = await identityPolicies(repos, caller);
    const base = { principal: { arn: caller.arn, accountId: caller.accountId }, action: request.action, resource: request.resource };
    if (!request.key) {
      const values = await enrich(repos, request, '', []);
      const identity = evaluatePolicies(identityDocs, { ...base, conditions: values });
      if (identity.decision === 'Allow') return;
      throw accessDenied(caller, request, explicitDeny(identity) ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${request.action} action`);
    }
    const key = request.key;
    const policyText = await keyPolicyText(repos, key.id, key.accountId);
    const keyPolicy = parseStoredPolicy(policyText, 'resource');
    const values = await enrich(repos, request, policyText, identityDocs);
    const r: EvaluationRequest = { ...base, conditions: values };
    const kp = evaluatePolicy(keyPolicy, r);
    const identity = evaluatePolicies(identityDocs, r);
    if (explicitDeny(kp)) throw accessDenied(caller, request, 'with an explicit deny in a resource-based policy');
    if (explicitDeny(identity)) throw accessDenied(caller, request, 'with an explicit deny in an identity-based policy');
    const crossAccount = key.accountId !== caller.accountId;
    if (crossAccount && !CROSS_ACCOUNT_ACTIONS.has(request.action)) throw accessDenied(caller, request);
    if (kp.decision === 'Allow') {
      if (kp.via === 'principal' && !crossAccount) return;
      if (identity.decision === 'Allow') return;
    }
    const grants = await repos.grants.listForKey(key.id, caller.arn);
    if (grants.some((g) => grantAllows(g, caller, request.action, values))) return;
    if (kp.decision === 'Allow') throw accessDenied(caller, request, `because no identity-based policy allows the ${request.action} action`);
    throw accessDenied(caller, request);
  },
};

/** Whether the caller would be allowed, without throwing (the lockout safety check uses it). */
export async function wouldAllow(repos: Repositories, caller: Caller, request: AuthorizationRequest, policyText: string): Promise<boolean> {
  const keyPolicy = parsePolicy(policyText, 'resource');
  const identityDocs = await identityPolicies(repos, caller);
  const r: EvaluationRequest = {
    principal: { arn: caller.arn, accountId: caller.accountId },
    action: request.action,
    resource: request.resource,
    conditions: request.conditions,
  };
  const kp = evaluatePolicy(keyPolicy, r);
  const identity = evaluatePolicies(identityDocs, r);
  if (kp.decision !== 'Allow' || identity.decision === 'Deny') return false;
  const crossAccount = request.key !== null && request.key.accountId !== caller.accountId;
  return (kp.via === 'principal' && !crossAccount) || identity.decision === 'Allow';
}
