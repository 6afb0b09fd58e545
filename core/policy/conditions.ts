// Condition operators of the AWS policy language (String*, Numeric*, Date*, Bool, Null, Arn*, IpAddress) with
// IfExists and the ForAllValues:/ForAnyValue: set qualifiers, over the values a request supplies.
import type { ConditionValues } from '../authorization.js';
import type { ConditionClause } from './document.js';

type Test = (request: string, policy: string) => boolean;

const compiled = new Map<string, RegExp>();

/** Shell-style match: * any run, ? one character. Compiled patterns are kept (bounded), as policies repeat. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = compiled.get(cacheKey);
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
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

function ipv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.replace(/^::ffff:/, ''));
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((x) => x > 255)) return null;
  return parts.reduce((acc, x) => acc * 256 + x, 0);
}

/** An IPv6 address as a 128-bit number (compressed "::" and a trailing dotted IPv4 part allowed), or null. */
function ipv6(s: string): bigint | null {
  if (!s.includes(':')) return null;
  let text = s;
  let low32: number | null = null;
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted) {
    low32 = ipv4(dotted[2] as string);
    if (low32 === null) return null;
    text = `${dotted[1] as string}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const left = halves[0] ? (halves[0] as string).split(':') : [];
  const right = halves.length === 2 && halves[1] ? (halves[1] as string).split(':') : [];
  const missing = 8 - left.length - right.length;
  // Without "::" there must be eight groups; "::" stands for at least one.
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  let value = 0n;
  for (const group of [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return low32 === null ? value : (value & ~0xffffffffn) | BigInt(low32);
}

const prefixBits = (bits: string | undefined, max: number): number | null => {
  if (bits === undefined) return max;
  const n = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  return n >= 0 && n <= max ? n : null;
};

/** IpAddress: IPv4 or IPv6, a single address or a CIDR range; a request address of the other family never matches. */
const inCidr: Test = (r, p) => {
  const slash = p.indexOf('/');
  const base = slash < 0 ? p : p.slice(0, slash);
  const bits = slash < 0 ? undefined : p.slice(slash + 1);
  const a = ipv4(r);
  const b = ipv4(base);
  if (a !== null && b !== null) {
    const n = prefixBits(bits, 32);
    if (n === null) return false;
    const size = 2 ** (32 - n);
    return Math.floor(a / size) === Math.floor(b / size);
  }
  const a6 = ipv6(r);
  const b6 = ipv6(base);
  if (a6 !== null && b6 !== null) {
    const n = prefixBits(bits, 128);
    if (n === null) return false;
    const shift = BigInt(128 - n);
    return a6 >> shift === b6 >> shift;
  }
  return r === p;
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

/** Whether one condition clause holds for the request. */
export function conditionHolds(clause: ConditionClause, values: ConditionValues): boolean {
  const present = requestValues(values, clause.key);
  if (clause.operator === 'Null') {
    const wantsAbsent = clause.values.some((v) => v.toLowerCase() === 'true');
    return wantsAbsent === (present === undefined);
  }
  const negatedOf = NEGATED[clause.operator];
  const test = POSITIVE[negatedOf ?? clause.operator] as Test;
  const one = (r: string) => {
    const hit = clause.values.some((p) => test(r, p));
    return negatedOf ? !hit : hit;
  };
  if (clause.set === 'ForAllValues') return present === undefined || present.every(one);
  if (clause.set === 'ForAnyValue') return present !== undefined && present.some(one);
  if (present === undefined) return clause.ifExists || negatedOf !== undefined;
  return negatedOf ? present.every(one) : present.some(one);
}

export function conditionsHold(clauses: ConditionClause[], values: ConditionValues): boolean {
  return clauses.every((c) => conditionHolds(c, values));
}
