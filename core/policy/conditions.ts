// Condition operators of the AWS policy language (String*, Numeric*, Date*, Bool, Null, Arn*, IpAddress) with
// IfExists and the ForAllValues:/ForAnyValue: set qualifiers, over the values a request supplies.
import type { ConditionValues } from '../authorization.js';
import type { ConditionClause } from './document.js';
import { inIpRange, parseIp, parseIpRange } from '../ip-address.js';
import { globSource, mayHoldVariables, resolveArnParts, resolveExact, resolveGlob, type Lookup } from './variables.js';

type Test = (request: string, policy: string) => boolean;

const compiled = new Map<string, RegExp>();

/** Shell-style match: * any run, ? one character. Compiled patterns are kept (bounded), as policies repeat. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = compiled.get(cacheKey);
  if (!re) {
    re = new RegExp(`^${globSource(pattern)}$`, ignoreCase ? 'is' : 's');
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(cacheKey, re);
  }
  return re.test(value);
}

const num = (s: string) => (s.trim() === '' ? NaN : Number(s));
const date = (s: string) => (/^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s));
const cmp = (parse: (s: string) => number, f: (a: number, b: number) => boolean): Test => (r, p) => {
  const a = parse(r);
  const b = parse(p);
  return !Number.isNaN(a) && !Number.isNaN(b) && f(a, b);
};

/** IpAddress: IPv4 or IPv6, a single address or a CIDR range; a request address of the other family never matches. */
const inCidr: Test = (r, p) => {
  const address = parseIp(r);
  const range = parseIpRange(p);
  return address !== null && range !== null ? inIpRange(address, range) : r === p;
};

/** Arn matching: the six colon-separated parts, each matched with wildcards. */
const arnLike: Test = (r, p) => {
  const rp = r.split(':');
  const pp = p.split(':');
  if (pp.length < 6 || rp.length < 6) return false;
  const head = (xs: string[]) => [...xs.slice(0, 5), xs.slice(5).join(':')];
  const [a, b] = [head(rp), head(pp)];
  return b.every((part, i) => globMatch(part, a[i] as string));
};

/** Positive operators and their test; the negated operators are the complement over the same test. */
const POSITIVE: Record<string, Test> = {
  StringEquals: (r, p) => r === p,
  StringEqualsIgnoreCase: (r, p) => r.toLowerCase() === p.toLowerCase(),
  StringLike: (r, p) => globMatch(p, r),
  NumericEquals: cmp(num, (a, b) => a === b),
  NumericLessThan: cmp(num, (a, b) => a < b),
  NumericLessThanEquals: cmp(num, (a, b) => a <= b),
  NumericGreaterThan: cmp(num, (a, b) => a > b),
  NumericGreaterThanEquals: cmp(num, (a, b) => a >= b),
  DateEquals: cmp(date, (a, b) => a === b),
  DateLessThan: cmp(date, (a, b) => a < b),
  DateLessThanEquals: cmp(date, (a, b) => a <= b),
  DateGreaterThan: cmp(date, (a, b) => a > b),
  DateGreaterThanEquals: cmp(date, (a, b) => a >= b),
  Bool: (r, p) => r.toLowerCase() === p.toLowerCase(),
  ArnEquals: (r, p) => arnLike(r, p),
  ArnLike: (r, p) => arnLike(r, p),
  IpAddress: inCidr,
};

const NEGATED: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  NumericNotEquals: 'NumericEquals',
  DateNotEquals: 'DateEquals',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
  NotIpAddress: 'IpAddress',
};

export const CONDITION_OPERATORS = new Set([...Object.keys(POSITIVE), ...Object.keys(NEGATED), 'Null']);

/** The request's values for a key: undefined when absent (an empty list counts as absent, as in AWS). */
export function requestValues(values: ConditionValues, key: string): string[] | undefined {
  const found = Object.keys(values).find((k) => k.toLowerCase() === key.toLowerCase());
  const v = found === undefined ? undefined : values[found];
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [String(v)];
  return list.length === 0 ? undefined : list;
}

/** A request's single value for a key, as a policy variable reads it: absent, or a list, is no value. */
export function singleValue(values: ConditionValues): Lookup {
  return (key) => {
    const v = requestValues(values, key);
    return v?.length === 1 ? v[0] : undefined;
  };
}

/**
 * The positive operators whose policy values may hold policy variables (core/policy/variables.ts), and their test
 * of a value that holds some: it matches no request value when a variable resolves to nothing.
 */
const WITH_VARIABLES: Record<string, (r: string, p: string, lookup: Lookup) => boolean> = {
  StringEquals: (r, p, l) => resolveExact(p, l) === r,
  StringEqualsIgnoreCase: (r, p, l) => resolveExact(p, l)?.toLowerCase() === r.toLowerCase(),
  StringLike: (r, p, l) => resolveGlob(p, l)?.test(r) ?? false,
  ArnEquals: (r, p, l) => arnParts(r, resolveArnParts(p, l)),
  ArnLike: (r, p, l) => arnParts(r, resolveArnParts(p, l)),
};

function arnParts(r: string, patterns: RegExp[] | null): boolean {
  const rp = r.split(':');
  if (patterns === null || rp.length < 6) return false;
  const parts = [...rp.slice(0, 5), rp.slice(5).join(':')];
  return patterns.every((re, i) => re.test(parts[i] as string));
}

/** Whether one condition clause holds for the request; `variables`: the document's Version resolves policy variables. */
export function conditionHolds(clause: ConditionClause, values: ConditionValues, variables = false): boolean {
  const present = requestValues(values, clause.key);
  if (clause.operator === 'Null') {
    const wantsAbsent = clause.values.some((v) => v.toLowerCase() === 'true');
    return wantsAbsent === (present === undefined);
  }
  const negatedOf = NEGATED[clause.operator];
  const positive = negatedOf ?? clause.operator;
  const test = POSITIVE[positive] as Test;
  const withVariables = variables ? WITH_VARIABLES[positive] : undefined;
  const matches = (r: string, p: string) => (withVariables && mayHoldVariables(p) ? withVariables(r, p, singleValue(values)) : test(r, p));
  const one = (r: string) => {
    const hit = clause.values.some((p) => matches(r, p));
    return negatedOf ? !hit : hit;
  };
  if (clause.set === 'ForAllValues') return present === undefined || present.every(one);
  if (clause.set === 'ForAnyValue') return present !== undefined && present.some(one);
  if (present === undefined) return clause.ifExists || negatedOf !== undefined;
  return negatedOf ? present.every(one) : present.some(one);
}

export function conditionsHold(clauses: ConditionClause[], values: ConditionValues, variables = false): boolean {
  return clauses.every((c) => conditionHolds(c, values, variables));
}
