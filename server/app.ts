// The Hono application: the KMS endpoint on POST /, health on GET /healthz, AWS-style errors everywhere else.
import { Hono } from 'hono';
import { internalError, KmsError } from '../core/errors.js';
import { describeError } from './log.js';
import { errorBody, HTTP_STATUS } from './protocol/errors.js';
import { JSON_11, kmsEndpoint, type DispatchDeps } from './protocol/dispatch.js';

export interface AppDeps extends DispatchDeps {
  health(): Promise<{ hsm: boolean; database: boolean }>;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/healthz', async (c) => {
    const h = await deps.health().catch(() => ({ hsm: false, database: false }));
    const ok = h.hsm && h.database;
    return c.json(ok ? { status: 'ok' } : { status: 'unavailable', hsm: h.hsm, database: h.database }, ok ? 200 : 503);
  });
  app.post('/', kmsEndpoint(deps));
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
