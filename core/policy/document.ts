// Parses AWS policy documents (key policies and identity policies) into a checked form, or MalformedPolicyDocumentException.
import { KmsError } from '../errors.js';
import { CONDITION_OPERATORS } from './conditions.js';

export const MAX_POLICY_BYTES = 32 * 1024;
export type Effect = 'Allow' | 'Deny';
/** '*' or a list of principal ARNs (account ids are normalised to arn:aws:iam::<acct>:root). */
export type PrincipalSet = '*' | string[];

export interface ConditionClause {
  /** e.g. 'StringEquals' without set qualifier or IfExists. */
  operator: string;
  set: 'ForAllValues' | 'ForAnyValue' | null;
  ifExists: boolean;
  key: string;
  values: string[];
}

export interface Statement {
  sid: string | null;
  effect: Effect;
  principal: PrincipalSet | null;
  notPrincipal: PrincipalSet | null;
  action: string[] | null;
  notAction: string[] | null;
  resource: string[] | null;
  notResource: string[] | null;
  conditions: ConditionClause[];
}

export interface PolicyDocument {
  version: string | null;
  statements: Statement[];
}

/** 'resource' documents (key policies) need a Principal; 'identity' documents (user policies) must not have one. */
export type PolicyKind = 'resource' | 'identity';

const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const ACCOUNT = /^\d{12}$/;
const IAM_ARN = /^arn:aws:(iam|sts)::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+|assumed-role\/[\w+=,.@/-]+)$/;
const ACTION = /^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+)$/;

export function malformed(message: string): KmsError {
  return new KmsError('MalformedPolicyDocumentException', message);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function stringList(v: unknown, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || list.some((x) => typeof x !== 'string' || x.length === 0)) {
    throw malformed(`${what} must be a non-empty string or a non-empty list of strings.`);
  }
  return list as string[];
}

function principalSet(v: unknown): PrincipalSet {
  if (v === '*') return '*';
  if (!isObject(v)) throw malformed('Policy contains a statement with one or more invalid principals.');
  const out: string[] = [];
  for (const [type, value] of Object.entries(v)) {
    if (type !== 'AWS' && type !== 'Service') throw malformed(`Policy contains a statement with an unsupported principal type ${type}.`);
    for (const p of stringList(value, `Principal ${type}`)) {
      if (type === 'Service') out.push(`service:${p}`);
      else if (p === '*') return '*';
      else if (ACCOUNT.test(p)) out.push(`arn:aws:iam::${p}:root`);
      else if (IAM_ARN.test(p)) out.push(p);
      else throw malformed('Policy contains a statement with one or more invalid principals.');
    }
  }
  if (out.length === 0) throw malformed('Policy contains a statement with one or more invalid principals.');
  return out;
}

function conditionBlock(v: unknown): ConditionClause[] {
  if (v === undefined) return [];
  if (!isObject(v)) throw malformed('Condition must be an object of operators.');
  const out: ConditionClause[] = [];
  for (const [rawOp, body] of Object.entries(v)) {
    const m = /^(?:(ForAllValues|ForAnyValue):)?([A-Za-z]+?)(IfExists)?$/.exec(rawOp);
    const operator = m?.[2] ?? '';
    if (!m || !CONDITION_OPERATORS.has(operator) || (operator === 'Null' && m[3])) {
      throw malformed(`Policy contains an unknown condition operator ${rawOp}.`);
    }
    if (!isObject(body) || Object.keys(body).length === 0) throw malformed(`Condition operator ${rawOp} must map condition keys to values.`);
    for (const [key, value] of Object.entries(body)) {
      const list = Array.isArray(value) ? value : [value];
      if (list.length === 0 || list.some((x) => !['string', 'number', 'boolean'].includes(typeof x))) {
        throw malformed(`Condition ${rawOp} of ${key} must have string, number or boolean values.`);
      }
      out.push({ operator, set: (m[1] as ConditionClause['set']) ?? null, ifExists: m[3] !== undefined, key, values: list.map(String) });
    }
  }
  return out;
}

function pair(s: Record<string, unknown>, a: string, b: string, required: boolean): [unknown, unknown] {
  if (s[a] !== undefined && s[b] !== undefined) throw malformed(`A statement cannot have both ${a} and ${b}.`);
  if (required && s[a] === undefined && s[b] === undefined) throw malformed(`Policy statement must contain ${a} or ${b}.`);
  return [s[a], s[b]];
}

function statement(s: unknown, kind: PolicyKind): Statement {
  if (!isObject(s)) throw malformed('Each statement must be an object.');
  for (const f of Object.keys(s)) if (!STATEMENT_FIELDS.has(f)) throw malformed(`Policy statement has an unknown field ${f}.`);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed('Policy statement Effect must be Allow or Deny.');
  if (s.Sid !== undefined && typeof s.Sid !== 'string') throw malformed('Policy statement Sid must be a string.');
  const [principal, notPrincipal] = pair(s, 'Principal', 'NotPrincipal', kind === 'resource');
  if (kind === 'identity' && (principal !== undefined || notPrincipal !== undefined)) {
    throw malformed('Has prohibited field Principal: an identity policy applies to the user it is attached to.');
  }
  const [action, notAction] = pair(s, 'Action', 'NotAction', true);
  const [resource, notResource] = pair(s, 'Resource', 'NotResource', true);
  const actions = (v: unknown, what: string) => {
    if (v === undefined) return null;
    const list = stringList(v, what);
    for (const a of list) if (!ACTION.test(a)) throw malformed(`${what} ${a} is not a valid action: use service:Action, with * or ? wildcards.`);
    return list;
  };
  return {
    sid: (s.Sid as string | undefined) ?? null,
    effect: s.Effect,
    principal: principal === undefined ? null : principalSet(principal),
    notPrincipal: notPrincipal === undefined ? null : principalSet(notPrincipal),
    action: actions(action, 'Action'),
    notAction: actions(notAction, 'NotAction'),
    resource: resource === undefined ? null : stringList(resource, 'Resource'),
    notResource: notResource === undefined ? null : stringList(notResource, 'NotResource'),
    conditions: conditionBlock(s.Condition),
  };
}

/** Parses and checks a policy document; throws MalformedPolicyDocumentException saying what is wrong. */
export function parsePolicy(text: string, kind: PolicyKind): PolicyDocument {
  if (new TextEncoder().encode(text).length > MAX_POLICY_BYTES) throw malformed(`The policy is larger than ${MAX_POLICY_BYTES} bytes.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed('The policy is not valid JSON.');
  }
  if (!isObject(json)) throw malformed('The policy must be a JSON object.');
  for (const f of Object.keys(json)) if (!['Version', 'Id', 'Statement'].includes(f)) throw malformed(`The policy has an unknown field ${f}.`);
  if (json.Version !== undefined && json.Version !== '2012-10-17' && json.Version !== '2008-10-17') {
    throw malformed('The policy Version must be 2012-10-17 or 2008-10-17.');
  }
  if (json.Statement === undefined) throw malformed('The policy must contain a Statement.');
  const raw = Array.isArray(json.Statement) ? json.Statement : [json.Statement];
  if (raw.length === 0) throw malformed('The policy must contain at least one statement.');
  const statements = raw.map((s) => statement(s, kind));
  const sids = statements.map((s) => s.sid).filter((s): s is string => s !== null);
  if (new Set(sids).size !== sids.length) throw malformed('Statement IDs (SID) in a single policy must be unique.');
  return { version: (json.Version as string | undefined) ?? null, statements };
}

/** One map per kind, keyed by the text itself: the metadata cache hands out the same string, whose hash V8 keeps. */
const parsedStored = new Map<PolicyKind, Map<string, PolicyDocument>>();
const MAX_PARSED = 1_000;

/**
 * parsePolicy for documents already stored (valid when they were put), reused by text: the authorizer parses the
 * key policy and the caller's identity policies on every request. The parsed form is never modified.
 */
export function parseStoredPolicy(text: string, kind: PolicyKind): PolicyDocument {
  let byText = parsedStored.get(kind);
  if (!byText) parsedStored.set(kind, (byText = new Map()));
  const hit = byText.get(text);
  if (hit) return hit;
  const parsed = parsePolicy(text, kind);
  if (byText.size >= MAX_PARSED) byText.clear();
  byText.set(text, parsed);
  return parsed;
}
