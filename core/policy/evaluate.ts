// Evaluates one policy document for one request: Allow, Deny or NotApplicable, with the statement that decided.
import type { ConditionValues } from '../authorization.js';
import { conditionsHold, globMatch, singleValue } from './conditions.js';
import { mayHoldVariables, resolveGlob } from './variables.js';
import type { PolicyDocument, PrincipalSet, Statement } from './document.js';

export interface EvaluationRequest {
  /** The caller's ARN and account. */
  principal: { arn: string; accountId: string };
  /** e.g. 'kms:Encrypt'. */
  action: string;
  /** The resource ARN, or '*' for account-level actions. */
  resource: string;
  conditions: ConditionValues;
}

/**
 * How a resource policy's Allow names the caller: 'principal' when it names the caller itself (or '*'),
 * 'account' when it names only the caller's account root, which delegates to the account's identity policies.
 */
export type MatchedVia = 'principal' | 'account';

export type Evaluation =
  | { decision: 'Deny'; reason: string }
  | { decision: 'Allow'; via: MatchedVia; reason: string }
  | { decision: 'NotApplicable'; reason: string };

export const accountRoot = (accountId: string) => `arn:aws:iam::${accountId}:root`;

function principalMatch(set: PrincipalSet, p: EvaluationRequest['principal']): MatchedVia | null {
  if (set === '*' || set.includes(p.arn)) return 'principal';
  if (set.includes(accountRoot(p.accountId))) return 'account';
  return null;
}

function whoMatches(s: Statement, p: EvaluationRequest['principal']): MatchedVia | null {
  if (s.principal !== null) return principalMatch(s.principal, p);
  // NotPrincipal: everyone except those named (naming the account excludes all its principals).
  if (s.notPrincipal !== null) return principalMatch(s.notPrincipal, p) === null ? 'principal' : null;
  return 'principal'; // identity policies: the principal is the user the policy is attached to
}

function listMatch(list: string[] | null, notList: string[] | null, value: string, ignoreCase: boolean): boolean {
  const hit = (xs: string[]) => xs.some((x) => globMatch(x, value, ignoreCase));
  return list !== null ? hit(list) : !hit(notList ?? []);
}

/** Resource or NotResource with policy variables resolved (a pattern whose variable resolves to nothing matches nothing). */
function resourceMatch(s: Statement, r: EvaluationRequest): boolean {
  const one = (x: string) => (mayHoldVariables(x) ? (resolveGlob(x, singleValue(r.conditions))?.test(r.resource) ?? false) : globMatch(x, r.resource));
  return s.resource !== null ? s.resource.some(one) : !(s.notResource ?? []).some(one);
}

function applies(s: Statement, r: EvaluationRequest, variables: boolean): MatchedVia | null {
  if (!listMatch(s.action, s.notAction, r.action, true)) return null;
  if (!(variables ? resourceMatch(s, r) : listMatch(s.resource, s.notResource, r.resource, false))) return null;
  const via = whoMatches(s, r.principal);
  if (via === null) return null;
  return conditionsHold(s.conditions, r.conditions, variables) ? via : null;
}

/** Policy variables exist in the 2012-10-17 policy language; in 2008-10-17 (or without a Version) `${...}` is text. */
export const resolvesVariables = (doc: PolicyDocument) => doc.version === '2012-10-17';

const label = (s: Statement, i: number) => (s.sid ? `statement ${s.sid}` : `statement ${i + 1}`);

/** Explicit Deny wins; an Allow naming the principal beats one naming only its account; else NotApplicable. */
export function evaluatePolicy(doc: PolicyDocument | null, r: EvaluationRequest): Evaluation {
  if (doc === null) return { decision: 'NotApplicable', reason: 'no policy' };
  let allow: Evaluation | null = null;
  const variables = resolvesVariables(doc);
  for (const [i, s] of doc.statements.entries()) {
    const via = applies(s, r, variables);
    if (via === null) continue;
    if (s.effect === 'Deny') return { decision: 'Deny', reason: `explicit deny in ${label(s, i)}` };
    if (allow === null || (allow.decision === 'Allow' && allow.via === 'account' && via === 'principal')) {
      allow = { decision: 'Allow', via, reason: `allowed by ${label(s, i)}` };
    }
  }
  return allow ?? { decision: 'NotApplicable', reason: 'no statement applies' };
}

/** Combines several identity policies of one principal: any Deny wins, else any Allow. */
export function evaluatePolicies(docs: PolicyDocument[], r: EvaluationRequest): Evaluation {
  let result: Evaluation = { decision: 'NotApplicable', reason: 'no policy' };
  for (const d of docs) {
    const e = evaluatePolicy(d, r);
    if (e.decision === 'Deny') return e;
    if (e.decision === 'Allow' && result.decision !== 'Allow') result = e;
  }
  return result;
}
