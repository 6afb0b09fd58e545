// A small argv parser: --flag value, --flag=value, boolean flags, repeatable flags, positionals, strict about the rest.
import { UsageError } from './io.js';

export type FlagKind = 'string' | 'boolean' | 'list';
export type FlagSpec = Record<string, FlagKind>;

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: FlagSpec = { endpoint: 'string', region: 'string', profile: 'string', output: 'string', help: 'boolean' };

export function parseArgs(argv: string[], spec: FlagSpec): Parsed {
  const all = { ...GLOBAL_FLAGS, ...spec };
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('--') || token === '-') {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const kind = all[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value: string | undefined = eq >= 0 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'list') flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else if (flags[name] !== undefined) throw new UsageError(`--${name} given twice`);
    else flags[name] = value;
  }
  const output = flags.output;
  if (output !== undefined && output !== 'json' && output !== 'table') throw new UsageError('--output must be "table" or "json"');
  return { flags, positionals };
}

export const str = (p: Parsed, name: string): string | undefined => p.flags[name] as string | undefined;
export const list = (p: Parsed, name: string): string[] => (p.flags[name] as string[] | undefined) ?? [];
export const bool = (p: Parsed, name: string): boolean => p.flags[name] === true;

export function required(p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function int(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

/** "k=v" pairs (repeatable --context k=v) into a map. */
export function pairs(values: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} takes key=value, got "${v}"`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** The positional at `i`, or the flag of that name; one of them is required. */
export function subject(p: Parsed, i: number, flag: string): string {
  const v = p.positionals[i] ?? str(p, flag);
  if (!v) throw new UsageError(`a ${flag.replace(/-/g, ' ')} is required (positional or --${flag})`);
  return v;
}
