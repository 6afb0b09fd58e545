// The Hono application: the KMS endpoint on POST /, health on GET /healthz, AWS-style errors everywhere else.
import { Hono } from 'hono';
import { internalError, KmsError } from '../core/errors.js';
import { mountConsole } from './console.js';
import { describeError } from './log.js';
import type { Metrics } from './metrics.js';
import { OPERATIONS } from './operations/index.js';
import type { ReadinessReport } from './readiness.js';
import { errorBody, HTTP_STATUS } from './protocol/errors.js';
import { JSON_11, kmsEndpoint, type DispatchDeps } from './protocol/dispatch.js';

export interface AppDeps extends DispatchDeps {
  health(): Promise<{ hsm: boolean; database: boolean }>;
  /** GET /readyz; absent in tests that build the app alone. */
  readiness?: () => Promise<ReadinessReport>;
  metrics?: Metrics;
  /** What GET /metrics answers; absent: `metrics` alone (with COFFER_WORKERS > 1, every worker's: server/cluster-metrics.ts). */
  renderMetrics?: () => string | Promise<string>;
  /** The web console's build folder, served under /console; absent: no console routes. */
  consoleDir?: string;
}

/** The operation label for metrics: a registered target's name, else "unknown" (bounded cardinality). */
function operationLabel(target: string | undefined): string {
  const op = target !== undefined && Object.prototype.hasOwnProperty.call(OPERATIONS, target) ? OPERATIONS[target] : undefined;
  return op ? op.name : 'unknown';
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/healthz', async (c) => {
    const h = await deps.health().catch(() => ({ hsm: false, database: false }));
    const ok = h.hsm && h.database;
    return c.json(ok ? { status: 'ok' } : { status: 'unavailable', hsm: h.hsm, database: h.database }, ok ? 200 : 503);
  });
  const readiness = deps.readiness;
  if (readiness) {
    app.get('/readyz', async (c) => {
      const r = await readiness();
      return c.json(r.ready ? { status: 'ready', selfTest: r.selfTest } : { status: 'unavailable', failing: r.failing, selfTest: r.selfTest }, r.ready ? 200 : 503);
    });
  }
  const metrics = deps.metrics;
  if (metrics) {
    const render = deps.renderMetrics ?? (() => metrics.render());
    app.get('/metrics', async (c) => c.body(await render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }));
    app.post('/', async (c, next) => {
      const done = metrics.startRequest(operationLabel(c.req.header('x-amz-target')));
      try {
        await next();
      } finally {
        // Headers are read only from errors: reading them turns a plain-object response's into a fetch Headers.
        const status = c.res.status;
        done(status, status >= 400 ? c.res.headers.get('x-amzn-ErrorType') : null);
      }
    });
  }
  app.post('/', kmsEndpoint(deps));
  if (deps.consoleDir !== undefined) mountConsole(app, deps.consoleDir);
  app.notFound((c) => {
    const e = new KmsError('UnknownOperationException', `No operation at ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 128)}`);
    return c.body(JSON.stringify(errorBody(e)), 404, { 'content-type': JSON_11 });
  });
  app.onError((err, c) => {
    deps.log.error('unhandled error', { error: describeError(err) });
    const e = internalError();
    return c.body(JSON.stringify(errorBody(e)), HTTP_STATUS[e.code], { 'content-type': JSON_11 });
  });
  return app;
}
