// The load generator: N keep-alive HTTP/1.1 connections over raw sockets, one request in flight on each, every
// request SigV4-signed as it is sent. Run as its own process (reads a LoadSpec on stdin, writes a LoadResult).
import { connect, type Socket } from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { account, snapshot, type AccountSpec, type CpuAccount } from './cpu-account.js';
import { Signer, type Credentials } from './sign.js';

export interface LoadSpec {
  url: string;
  target: string;
  /** JSON bodies, sent in turn. */
  bodies: string[];
  credentials: Credentials;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** When set, CPU time over the measured window for the server, this process, Postgres and the machine. */
  account?: AccountSpec;
}

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The first non-2xx body seen, to tell what went wrong. */
  firstError: string | null;
  /** CPU milliseconds over the measured window (spec.account). */
  cpu?: CpuAccount;
}

interface Response {
  status: number;
  body: string;
}

/** Reads HTTP/1.1 responses (Content-Length or chunked) off one socket. */
class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private pending: ((r: Response) => void) | null = null;
  private failed: ((e: Error) => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.tryParse();
    });
    const fail = (e: Error) => this.failed?.(e);
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  send(bytes: Buffer): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.pending = resolve;
      this.failed = reject;
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private tryParse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    let body: Buffer;
    let consumed: number;
    if (cl) {
      const len = Number(cl[1]);
      if (this.buf.length < end + 4 + len) return;
      body = this.buf.subarray(end + 4, end + 4 + len);
      consumed = end + 4 + len;
    } else if (lower.includes('transfer-encoding: chunked')) {
      const parsed = parseChunked(this.buf, end + 4);
      if (!parsed) return;
      [body, consumed] = parsed;
    } else {
      body = Buffer.alloc(0);
      consumed = end + 4;
    }
    this.buf = this.buf.subarray(consumed);
    const done = this.pending;
    this.pending = null;
    done({ status, body: status >= 300 ? body.toString('utf8') : '' });
  }
}

function parseChunked(buf: Buffer, start: number): [Buffer, number] | null {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
    if (buf.length < lineEnd + 2 + size + 2) return null;
    if (size === 0) return [Buffer.concat(parts), lineEnd + 4];
    parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

function open(host: string, port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(new Connection(s)));
    s.once('error', reject);
  });
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const signer = new Signer(spec.credentials, url.host);
  const bodies = spec.bodies.map((b) => Buffer.from(b));
  const conns = await Promise.all(Array.from({ length: spec.connections }, () => open(url.hostname, Number(url.port))));
  const hist = createHistogram();
  const statuses: Record<string, number> = {};
  let recording = false;
  let stopping = false;
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  let next = 0;
  const loop = async (c: Connection) => {
    while (!stopping) {
      const body = bodies[next++ % bodies.length] as Buffer;
      const t0 = process.hrtime.bigint();
      const r = await c.send(signer.request(spec.target, body));
      if (!recording) continue;
      hist.record(Math.max(1, Number(process.hrtime.bigint() - t0)));
      requests += 1;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status >= 300) {
        errors += 1;
        firstError ??= r.body.slice(0, 300);
      }
    }
  };
  const loops = conns.map((c) => loop(c));
  await sleep(spec.warmupMs);
  const cpu0 = spec.account ? snapshot(spec.account) : null;
  recording = true;
  const t0 = performance.now();
  await sleep(spec.durationMs);
  recording = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = spec.account && cpu0 ? account(cpu0, snapshot(spec.account)) : undefined;
  stopping = true;
  // The 5-s bound must not keep the process alive once every loop has ended (the parent waits for its exit).
  let bound: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(loops), new Promise((r) => (bound = setTimeout(r, 5000)))]);
  clearTimeout(bound);
  for (const c of conns) c.close();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return {
    requests,
    errors,
    statuses,
    seconds,
    rps: Math.round(requests / seconds),
    p50Ms: requests ? ms(hist.percentile(50)) : 0,
    p90Ms: requests ? ms(hist.percentile(90)) : 0,
    p99Ms: requests ? ms(hist.percentile(99)) : 0,
    maxMs: requests ? ms(hist.max) : 0,
    firstError,
    ...(cpu ? { cpu } : {}),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const result = await runLoad(JSON.parse(input) as LoadSpec);
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
