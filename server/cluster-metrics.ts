// /metrics with COFFER_WORKERS > 1: a scrape reaches one worker, which asks the supervisor for every worker's
// exposition; the supervisor collects them over the cluster's IPC channel and answers with one exposition in which
// each sample carries a `worker` label (sum by the other labels for the server's totals). A worker that does not
// answer within COLLECT_TIMEOUT_MS is left out, and the exposition says how many answered.
import cluster, { type Worker } from 'node:cluster';
import type { Metrics } from './metrics.js';

const COLLECT_TIMEOUT_MS = 2_000;

type Message =
  | { coffer: 'metrics?'; id: number }
  | { coffer: 'metrics'; id: number; text: string }
  | { coffer: 'collect'; id: number }
  | { coffer: 'collected'; id: number; text: string };

function isMessage(m: unknown): m is Message {
  return typeof m === 'object' && m !== null && typeof (m as { coffer?: unknown }).coffer === 'string' && typeof (m as { id?: unknown }).id === 'number';
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/;

/**
 * One exposition from several: each family's HELP and TYPE once, then its samples from every part, each with the
 * part's `worker` label added. Families keep the order they first appear in.
 */
export function mergeExpositions(parts: ReadonlyArray<{ worker: string; text: string }>): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const { worker, text } of parts) {
    let current: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) /.exec(line);
      if (meta) {
        const name = meta[2] as string;
        current = families.get(name);
        if (!current) families.set(name, (current = { head: [], samples: [] }));
        if (current.head.length < 2 && !current.head.includes(line)) current.head.push(line);
        continue;
      }
      const m = SAMPLE.exec(line);
      if (!m || !current) continue;
      const labels = m[2] ? `${m[2].slice(0, -1)},worker="${worker}"}` : `{worker="${worker}"}`;
      current.samples.push(`${m[1]}${labels} ${m[3]}`);
    }
  }
  return [...families.values()].flatMap((f) => [...f.head, ...f.samples]).join('\n') + '\n';
}

/** In a worker: answers the supervisor's collections, and returns what /metrics renders (every worker's series). */
export function workerMetrics(local: Metrics): () => Promise<string> {
  let next = 0;
  const waiting = new Map<number, (text: string) => void>();
  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.coffer === 'collect') process.send?.({ coffer: 'collected', id: m.id, text: local.render() } satisfies Message);
    if (m.coffer === 'metrics') waiting.get(m.id)?.(m.text);
  });
  return () =>
    new Promise<string>((resolve) => {
      const id = next++;
      // The supervisor answers within its own timeout; this one only covers a supervisor gone.
      const timer = setTimeout(() => finish(local.render()), COLLECT_TIMEOUT_MS * 2);
      const finish = (text: string) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(text);
      };
      waiting.set(id, finish);
      process.send?.({ coffer: 'metrics?', id } satisfies Message);
    });
}

/** In the supervisor: collects every worker's exposition when one of them is scraped. */
export function superviseMetrics(workers: () => Worker[]): void {
  let next = 0;
  cluster.on('message', (asker: Worker, m: unknown) => {
    if (!isMessage(m) || m.coffer !== 'metrics?') return;
    const id = next++;
    const running = workers().filter((w) => w.isConnected());
    const parts: Array<{ worker: string; text: string }> = [];
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      cluster.off('message', collect);
      const counted = `# HELP coffer_workers_answering Worker processes whose metrics this exposition holds.\n# TYPE coffer_workers_answering gauge\ncoffer_workers_answering ${parts.length}\n`;
      parts.sort((a, b) => Number(a.worker) - Number(b.worker));
      if (asker.isConnected()) asker.send({ coffer: 'metrics', id: m.id, text: mergeExpositions(parts) + counted } satisfies Message);
    };
    const collect = (from: Worker, r: unknown) => {
      if (!isMessage(r) || r.coffer !== 'collected' || r.id !== id) return;
      parts.push({ worker: String(from.id), text: r.text });
      if (parts.length === running.length) answer();
    };
    const timer = setTimeout(answer, COLLECT_TIMEOUT_MS);
    cluster.on('message', collect);
    for (const w of running) w.send({ coffer: 'collect', id } satisfies Message);
    if (running.length === 0) answer();
  });
}
