// IAM policy variables: `${aws:username}`, `${aws:ResourceTag/team, 'none'}` (a default when the key has no value),
// and `${*}`, `${?}`, `${$}` for the literal characters. They are resolved from the request's condition values in
// the Resource and NotResource elements and in the values of String and Arn condition operators, in documents of
// Version 2012-10-17 (in older documents, and everywhere else, the text is literal, as in AWS).
//
// A variable whose key has no single value (absent, or a list) and no default resolves to nothing: the policy value
// holding it matches no request value, and a resource pattern holding it matches no resource. What a variable puts
// in is literal: a `*` in a user's tag value is no wildcard in a StringLike or a Resource.

/** A request's single value for a condition key, or undefined (absent, or several values). */
export type Lookup = (key: string) => string | undefined;

/** Text of a policy value: wildcards apply to policy text, not to a literal part (a variable's value, `${*}`). */
type Part = { text: string; literal: boolean };
type Token = Part | { key: string; fallback: string | null };

const VARIABLE_BODY = /^\s*([^\s,'{}]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$/;
const CHARACTERS = new Set(['*', '?', '$']);

const parsed = new Map<string, Token[]>();

/** Whether a policy value may hold a variable; the rest are compared as they are, without parsing. */
export const mayHoldVariables = (text: string): boolean => text.includes('${');

/** The value split into policy text, literal characters and variables; text that is no well-formed variable stays text. */
function tokens(text: string): Token[] {
  const hit = parsed.get(text);
  if (hit) return hit;
  const out: Token[] = [];
  let rest = text;
  for (let at = rest.indexOf('${'); at >= 0; at = rest.indexOf('${')) {
    const end = closingBrace(rest, at + 2);
    if (end < 0) break;
    if (at > 0) out.push({ text: rest.slice(0, at), literal: false });
    const body = rest.slice(at + 2, end);
    const m = VARIABLE_BODY.exec(body);
    if (CHARACTERS.has(body.trim())) out.push({ text: body.trim(), literal: true });
    else if (m) out.push({ key: m[1] as string, fallback: m[2] === undefined ? null : m[2].replace(/''/g, "'") });
    else out.push({ text: rest.slice(at, end + 1), literal: false });
    rest = rest.slice(end + 1);
  }
  if (rest !== '') out.push({ text: rest, literal: false });
  if (parsed.size >= 1000) parsed.clear();
  parsed.set(text, out);
  return out;
}

/** The `}` closing a variable that starts at `from`, passing over a quoted default (where '' is a quote); -1 if none. */
function closingBrace(text: string, from: number): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted; // '' inside a default toggles twice: still quoted
    else if (c === '}' && !quoted) return i;
  }
  return -1;
}

/** Each token as text: a variable's value, else its default; null when a variable resolves to nothing. */
function resolved(text: string, lookup: Lookup): Part[] | null {
  const out: Part[] = [];
  for (const t of tokens(text)) {
    if ('text' in t) {
      out.push(t);
      continue;
    }
    const value = lookup(t.key) ?? t.fallback;
    if (value === null) return null;
    out.push({ text: value, literal: true });
  }
  return out;
}

/** The value with its variables resolved, for exact comparisons; null when one resolves to nothing. */
export function resolveExact(text: string, lookup: Lookup): string | null {
  const parts = resolved(text, lookup);
  return parts === null ? null : parts.map((p) => p.text).join('');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A wildcard pattern as a RegExp body: `*` any run, `?` one character, everything else itself (globMatch's too). */
export const globSource = (s: string) => s.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c))).join('');

function regExpOf(parts: Part[]): RegExp {
  return new RegExp(`^${parts.map((p) => (p.literal ? escapeRegExp(p.text) : globSource(p.text))).join('')}$`, 's');
}

/** The value as a wildcard pattern (`*`, `?` of the policy text; what variables put in is literal); null as above. */
export function resolveGlob(text: string, lookup: Lookup): RegExp | null {
  const parts = resolved(text, lookup);
  return parts === null ? null : regExpOf(parts);
}

/**
 * An ARN pattern, its variables resolved, as its six colon-separated parts, each a wildcard pattern (the sixth holds
 * the rest, colons included); a variable may fill several parts (`${aws:PrincipalArn}`). Null as above, or when the
 * pattern has fewer than six parts.
 */
export function resolveArnParts(text: string, lookup: Lookup): RegExp[] | null {
  const parts = resolved(text, lookup);
  if (parts === null) return null;
  const split: Part[][] = [[]];
  for (const p of parts) {
    p.text.split(':').forEach((piece, i) => {
      if (i > 0) split.push([]);
      (split.at(-1) as Part[]).push({ text: piece, literal: p.literal });
    });
  }
  if (split.length < 6) return null;
  const head = split.slice(0, 5);
  const tail = split.slice(5).flatMap((part, i) => (i === 0 ? part : [{ text: ':', literal: true }, ...part]));
  return [...head, tail].map(regExpOf);
}
