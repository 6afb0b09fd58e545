// Where the SDK finds credentials, endpoint and region: options, then the usual AWS environment, then ~/.aws/credentials.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credentials } from './sigv4.js';

export type Env = Record<string, string | undefined>;

/** Parses an INI file into sections of key/value pairs ("[profile x]" headers are read as "x"). */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (head) {
      section = out[head[1] as string] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (section && eq > 0) section[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

function fromSharedFile(env: Env, profile: string | undefined): Credentials | undefined {
  const file = env.AWS_SHARED_CREDENTIALS_FILE || join(env.HOME || homedir(), '.aws', 'credentials');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const name = profile || env.AWS_PROFILE || 'default';
  const s = parseIni(text)[name];
  if (!s?.aws_access_key_id || !s.aws_secret_access_key) return undefined;
  return { accessKeyId: s.aws_access_key_id, secretAccessKey: s.aws_secret_access_key, sessionToken: s.aws_session_token };
}

/** Options first, then AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, then the shared credentials file. */
export function resolveCredentials(opts: { credentials?: Credentials | undefined; profile?: string | undefined }, env: Env = process.env): Credentials {
  if (opts.credentials) return opts.credentials;
  if (!opts.profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }
  const shared = fromSharedFile(env, opts.profile);
  if (shared) return shared;
  throw new Error(
    'No credentials: pass them in the options, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write a profile to ' +
      'AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and select it with AWS_PROFILE.',
  );
}

export function resolveEndpoint(endpoint: string | undefined, env: Env = process.env): URL {
  const value = endpoint ?? env.COFFER_ENDPOINT;
  if (!value) throw new Error('No endpoint: pass `endpoint` in the options or set COFFER_ENDPOINT (e.g. http://127.0.0.1:8080).');
  return new URL(value);
}

export function resolveRegion(region: string | undefined, env: Env = process.env): string {
  return region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1');
}
