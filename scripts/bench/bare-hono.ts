// The HTTP ceiling: a bare Hono handler that reads and parses the same JSON body and answers, nothing else.
// Prints {"url": ...} on stdout once listening; stops on SIGTERM.
import { randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const JSON_11 = 'application/x-amz-json-1.1';
const blob = randomBytes(100).toString('base64');

const app = new Hono();
app.post('/', async (c) => {
  const body = JSON.parse(new TextDecoder().decode(await c.req.arrayBuffer())) as { KeyId?: string };
  const answer = { CiphertextBlob: blob, KeyId: body.KeyId ?? null, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  return c.body(JSON.stringify(answer), 200, { 'content-type': JSON_11 });
});

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 0) }, (info) => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${info.port}` }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
