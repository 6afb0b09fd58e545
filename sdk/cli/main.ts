// The coffer CLI: dispatch to command groups, global flags, help, output modes and exit codes (0 ok, 1 service, 2 usage).
import { runAudit } from './audit.js';
import { CofferClient } from '../client.js';
import { EnvelopeError } from '../envelope/format.js';
import { CofferNetworkError, CofferServiceError } from '../errors.js';
import { parseArgs, str, type Parsed } from './args.js';
import type { Command, Group } from './command.js';
import { decryptCommand, encryptCommand } from './crypt.js';
import { domainKeys } from './domain-keys.js';
import { grants, topLevel } from './crypto-commands.js';
import { iam } from './iam.js';
import { EXIT_OK, EXIT_SERVICE, EXIT_USAGE, UsageError, type CliIo } from './io.js';
import { aliases, keys } from './keys.js';
import { print } from './output.js';

const GROUPS: Record<string, Group> = { keys, aliases, grants, iam, 'domain-keys': domainKeys };
const COMMANDS: Group = { encrypt: encryptCommand, decrypt: decryptCommand, ...topLevel };
const GLOBAL_HELP = `Global options:
  --endpoint URL     default $COFFER_ENDPOINT
  --region REGION    default $AWS_REGION, else us-east-1
  --profile NAME     a profile of the shared credentials file (default $AWS_PROFILE, else "default")
  --output table|json
  --help
Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], else AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials.
Exit codes: 0 success, 1 service error (its name and message on stderr), 2 bad usage.
`;

/** Every command path ("keys create", "encrypt", ...), for help and tests. */
export const COMMAND_PATHS: readonly string[] = [
  ...Object.entries(GROUPS).flatMap(([g, cmds]) => Object.keys(cmds).map((c) => `${g} ${c}`)),
  ...Object.keys(COMMANDS),
];

function topHelp(): string {
  const lines = ['Usage: coffer <command> [options]', '', 'Command groups:'];
  for (const [g, cmds] of Object.entries(GROUPS)) lines.push(`  ${g.padEnd(10)} ${Object.keys(cmds).join(' | ')}`);
  lines.push(`  ${'audit'.padEnd(10)} verify | export`, '', 'Commands:');
  for (const [n, c] of Object.entries(COMMANDS)) lines.push(`  ${n.padEnd(10)} ${c.summary}`);
  return `${lines.join('\n')}\n\n${GLOBAL_HELP}`;
}

const groupHelp = (name: string, g: Group) =>
  `Usage: coffer ${name} <command> [options]\n\nCommands:\n${Object.entries(g).map(([n, c]) => `  ${n.padEnd(18)} ${c.summary}\n`).join('')}\nRun \`coffer ${name} <command> --help\` for its options.\n`;
const commandHelp = (path: string, c: Command) => `Usage: coffer ${path} ${c.usage}\n\n${c.summary}\n\n${GLOBAL_HELP}`;

function clientFor(p: Parsed, env: CliIo['env']): () => CofferClient {
  let client: CofferClient | undefined;
  return () => {
    if (client) return client;
    try {
      client = new CofferClient({ endpoint: str(p, 'endpoint'), region: str(p, 'region'), profile: str(p, 'profile'), env });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return client;
  };
}

/** `coffer audit verify|export` (sdk/cli/audit.ts). */
function audit(argv: string[], io: CliIo): Promise<number> {
  return runAudit(argv, io);
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.stderr : io.stdout).write(topHelp());
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === 'audit') return audit(argv.slice(1), io);
  let command: Command | undefined = COMMANDS[first];
  let path = first;
  let rest = argv.slice(1);
  const group = GROUPS[first];
  if (group) {
    if (second === undefined || second === '--help' || second === '-h') {
      (second === undefined ? io.stderr : io.stdout).write(groupHelp(first, group));
      return second === undefined ? EXIT_USAGE : EXIT_OK;
    }
    command = Object.hasOwn(group, second) ? group[second] : undefined;
    if (!command) throw new UsageError(`unknown command "${first} ${second}"; try \`coffer ${first} --help\``);
    path = `${first} ${second}`;
    rest = argv.slice(2);
  }
  if (!command || !Object.hasOwn(COMMANDS, first) && !group) throw new UsageError(`unknown command "${first}"; try \`coffer --help\``);
  let p: Parsed;
  try {
    p = parseArgs(rest, command.flags ?? {});
  } catch (e) {
    if (e instanceof UsageError) e.message = `${e.message}\nUsage: coffer ${path} ${command.usage}`;
    throw e;
  }
  if (p.flags.help) {
    io.stdout.write(commandHelp(path, command));
    return EXIT_OK;
  }
  const view = await command.run({ p, io, client: clientFor(p, io.env) });
  print(io.stdout, view, (str(p, 'output') as 'json' | 'table' | undefined) ?? 'table');
  return EXIT_OK;
}

const FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EEXIST']);

export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`coffer: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CofferServiceError || e instanceof CofferNetworkError || e instanceof EnvelopeError) {
      io.stderr.write(`${e.name}: ${e.message}\n`);
      return EXIT_SERVICE;
    }
    const code = (e as { code?: string }).code;
    if (code && FILE_ERRORS.has(code)) {
      io.stderr.write(`coffer: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`coffer: ${(e as Error).message ?? String(e)}\n`);
    return EXIT_SERVICE;
  }
}
