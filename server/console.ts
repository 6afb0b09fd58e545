// The web console: its Vite build served as static files under /console, with a strict CSP and no way out of its folder.
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve, sep } from 'node:path';
import type { Context, Hono } from 'hono';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** No inline scripts or styles; the page talks only to its own origin (POST / with SigV4). */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The build's default place: <repo>/dist/console, whether the server runs from source (server/) or built (dist/server/). */
export function defaultConsoleDir(): string {
  const here = import.meta.dirname;
  const root = basename(resolve(here, '..')) === 'dist' ? resolve(here, '..', '..') : resolve(here, '..');
  return resolve(root, 'dist', 'console');
}

/**
 * The file a request path names inside `dir`, or null when it is not a plain relative path in it: encoded or
 * literal `..`, backslashes, NUL, empty segments and dot-files are all refused before touching the file system.
 */
export function consoleFile(dir: string, pathname: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname.replace(/^\/console\/?/, ''));
  } catch {
    return null;
  }
  if (rel === '') rel = 'index.html';
  if (rel.includes('\\') || rel.includes('\0')) return null;
  const segments = rel.split('/');
  if (segments.some((s) => s === '' || s.startsWith('.'))) return null;
  const root = resolve(dir);
  const file = resolve(root, ...segments);
  return file.startsWith(root + sep) ? file : null;
}

function notFound(c: Context, message: string) {
  return c.body(message, 404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
}

async function serve(c: Context, dir: string) {
  const pathname = new URL(c.req.url).pathname;
  const file = consoleFile(dir, pathname);
  if (file === null) return notFound(c, 'Not found.\n');
  const index = resolve(dir, 'index.html');
  const built = await stat(index).then((s) => s.isFile(), () => false);
  if (!built) return notFound(c, 'The console is not built: run `npm run build` (or ./scripts/start), then reload.\n');
  const isFile = await stat(file).then((s) => s.isFile(), () => false);
  if (!isFile) return notFound(c, 'Not found.\n');
  const body = await readFile(file);
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  // Vite names assets by content hash; the page itself must be fetched again to pick up a new build.
  const cache = file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
  return c.body(body, 200, { 'content-type': type, 'cache-control': cache, ...SECURITY_HEADERS });
}

/** GET /console redirects to /console/; GET /console/* serves the build in `dir`. */
export function mountConsole(app: Hono, dir: string): void {
  app.get('/console', (c) => c.redirect('/console/', 301));
  app.get('/console/*', (c) => serve(c, dir));
}
