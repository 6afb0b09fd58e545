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

export function validateRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
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
