// Prometheus metrics in the text exposition format (0.0.4), written by hand: counters, gauges and one histogram.
type Labels = Record<string, string>;

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * A series' identity: its labels in name order, each name and value length-prefixed (unambiguous whatever they hold).
 * Two series are looked up per request; JSON.stringify over sorted entries was ~1% of a request's main thread.
 */
function keyOf(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const name of names) {
    const value = labels[name] as string;
    key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(labels);
    const cur = this.values.get(k) ?? { labels, value: 0 };
    cur.value += by;
    this.values.set(k, cur);
  }
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }
  render(): string[] {
    const rows = [...this.values.values()];
    if (rows.length === 0) rows.push({ labels: {}, value: 0 });
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, ...rows.map((r) => `${this.name}${labelText(r.labels)} ${r.value}`)];
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string) {}
  observe(labels: Labels, seconds: number): void {
    const k = keyOf(labels);
    const s = this.series.get(k) ?? { labels, counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] as number)) s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += seconds;
    s.count += 1;
    this.series.set(k, s);
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      BUCKETS.forEach((b, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`, `${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** A value read at scrape time; `type: 'counter'` for ones that only grow. */
export interface Gauge {
  name: string;
  help: string;
  read(): number;
  type?: 'gauge' | 'counter';
}

export class Metrics {
  readonly requests = new Counter('coffer_requests_total', 'KMS requests answered, by operation and HTTP status.');
  readonly errors = new Counter('coffer_request_errors_total', 'KMS requests answered with an error, by operation and error name.');
  readonly latency = new Histogram('coffer_request_duration_seconds', 'Time to answer a KMS request, by operation.');
  readonly throttles = new Counter('coffer_throttles_total', 'Requests refused with ThrottlingException (per-account quotas, server/quotas.ts).');
  readonly auditWrites = new Counter('coffer_audit_writes_total', 'Audit events committed to the database.');
  readonly auditFailures = new Counter('coffer_audit_write_failures_total', 'Audit events appended outside a state change (refusals, reads, cryptographic operations) that could not be stored; each such request fails closed.');
  private readonly gauges: Gauge[] = [];
  private inFlight = 0;

  constructor() {
    this.gauge({ name: 'coffer_requests_in_flight', help: 'KMS requests being handled now (each waits for its audit event to commit, so this bounds the audit backlog).', read: () => this.inFlight });
  }

  gauge(g: Gauge): void {
    this.gauges.push(g);
  }

  /** Counts one request from start to answer; `operation` must come from a closed set (the registry) to bound cardinality. */
  startRequest(operation: string): (status: number, errorName: string | null) => void {
    const started = process.hrtime.bigint();
    this.inFlight += 1;
    return (status, errorName) => {
      this.inFlight -= 1;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.requests.inc({ operation, status: String(status) });
      this.latency.observe({ operation }, seconds);
      if (errorName !== null) this.errors.inc({ operation, error: errorName });
      if (errorName === 'ThrottlingException') this.throttles.inc();
    };
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  render(): string {
    const lines = [this.requests, this.errors, this.throttles, this.auditWrites, this.auditFailures].flatMap((c) => c.render());
    lines.push(...this.latency.render());
    for (const g of this.gauges) {
      let v: number;
      try {
        v = g.read();
      } catch {
        v = Number.NaN;
      }
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} ${g.type ?? 'gauge'}`, `${g.name} ${v}`);
    }
    return lines.join('\n') + '\n';
  }
}
