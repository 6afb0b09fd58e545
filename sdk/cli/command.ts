// The shape of a CLI command, and the context it runs in.
import type { CofferClient } from '../client.js';
import type { FlagSpec, Parsed } from './args.js';
import type { CliIo } from './io.js';
import type { View } from './output.js';

export interface Ctx {
  p: Parsed;
  io: CliIo;
  /** The SDK client, with credentials, endpoint and region as the SDK finds them (and --endpoint/--region/--profile). */
  client: () => CofferClient;
}

export interface Command {
  summary: string;
  /** Arguments after the command name, e.g. "KEY [--days N]". */
  usage: string;
  flags?: FlagSpec;
  run(ctx: Ctx): Promise<View | undefined>;
}

export type Group = Record<string, Command>;

/** Follows NextMarker until the last page (or one page when --limit is given). */
export async function allPages<T>(fetchPage: (marker: string | undefined) => Promise<{ items: T[]; next?: string | undefined; truncated?: boolean | undefined }>, onePage: boolean): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetchPage(marker);
    out.push(...page.items);
    marker = page.truncated ? page.next : undefined;
  } while (marker && !onePage);
  return out;
}
