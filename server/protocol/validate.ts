// Validates a parsed request body against the contract and turns zod's findings into AWS's wording:
// a wrong type is SerializationException, a broken constraint ValidationException naming the member.
import type { z } from 'zod';
import { KmsError } from '../../core/errors.js';
import { NOT_BASE64 } from '../../sdk/contract/shapes.js';
import { SENSITIVE_MEMBERS } from '../../sdk/contract/kms.js';

const camel = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let v: unknown = body;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function describe(issue: z.core.$ZodIssue, body: unknown): string | KmsError {
  const path = issue.path;
  const member = path.map((p) => (typeof p === 'number' ? `${p + 1}` : camel(String(p)))).join('.');
  const top = String(path[0] ?? '');
  if (issue.message === NOT_BASE64) return new KmsError('SerializationException', `Could not decode base64 value of '${top}'.`);
  const value = valueAt(body, path);
  if (issue.code === 'invalid_type') {
    if (value === undefined || value === null) return `Value null at '${member}' failed to satisfy constraint: Member must not be null`;
    return new KmsError('SerializationException', `Unexpected value type for '${member}': expected ${issue.expected}.`);
  }
  const shown = SENSITIVE_MEMBERS.has(top) || typeof value === 'object' ? '' : `Value '${String(value)}' at `;
  const at = shown || `Value at `;
  return `${at}'${member}' failed to satisfy constraint: ${issue.message}`;
}

/**
 * The path of the first string (member name or value) holding U+0000, which Postgres cannot store, or null.
 * Iterative: a body may nest tens of thousands of levels deep.
 */
function nulAt(body: unknown): string[] | null {
  interface Node {
    value: unknown;
    name: string | null;
    parent: Node | null;
  }
  const pathOf = (n: Node | null): string[] => {
    const out: string[] = [];
    for (let x = n; x && x.name !== null; x = x.parent) out.unshift(x.name);
    return out;
  };
  const stack: Node[] = [{ value: body, name: null, parent: null }];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    const { value } = node;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return pathOf(node);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    for (const [k, v] of Object.entries(value)) {
      const child: Node = { value: v, name: Array.isArray(value) ? String(Number(k) + 1) : camel(k), parent: node };
      if (k.includes('\u0000')) return pathOf(child);
      stack.push(child);
    }
  }
  return null;
}

export function validateRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const nul = nulAt(body);
  if (nul) {
    throw new KmsError(
      'ValidationException',
      `1 validation error detected: Value at '${nul.join('.')}' failed to satisfy constraint: Member must not contain the NUL character`,
    );
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const messages: string[] = [];
  for (const issue of r.error.issues) {
    const d = describe(issue, body);
    if (d instanceof KmsError) throw d;
    messages.push(d);
  }
  const n = messages.length;
  throw new KmsError('ValidationException', `${n} validation error${n === 1 ? '' : 's'} detected: ${messages.join('; ')}`);
}
