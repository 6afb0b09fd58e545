// Pure parts of the production surface: the metrics exposition, log redaction, readiness naming, FIPS policy, config.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKmsError, KmsError } from '../../core/errors.js';
import { FipsPolicy, registerFallback, FALLBACKS } from '../../hsm/fips.js';
import type { Capabilities } from '../../hsm/probe.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { EventEmitter } from 'node:events';
import { createLogger, REDACTED, serveOnUnhandledRejections } from '../../server/log.js';
import { Metrics } from '../../server/metrics.js';
import { checkReadiness } from '../../server/readiness.js';

describe('unhandled promise rejections', () => {
  it('are logged with the error described (no message: it may hold bound values) and do not throw', () => {
    const lines: string[] = [];
    const events = new EventEmitter();
    serveOnUnhandledRejections(events, createLogger('info', (l) => lines.push(l)));
    const reset = Object.assign(new Error('read ECONNRESET params: secret-value-1234'), { code: 'ECONNRESET' });
    expect(() => events.emit('unhandledRejection', reset)).not.toThrow();
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { msg: string; error: { name: string; code: string } };
    expect(line).toMatchObject({ msg: 'unhandled promise rejection: serving on', error: { name: 'Error', code: 'ECONNRESET' } });
    expect(lines[0]).not.toContain('secret-value-1234');
  });
});

describe('metrics', () => {
  it('renders counters, a cumulative histogram and gauges in the text format', () => {
    const m = new Metrics();
    m.startRequest('Encrypt')(200, null);
    m.startRequest('Decrypt')(400, 'InvalidCiphertextException');
    m.gauge({ name: 'coffer_test_gauge', help: 'A test.', read: () => 7 });
    const text = m.render();
    expect(text).toContain('# TYPE coffer_requests_total counter');
    expect(text).toContain('coffer_requests_total{operation="Encrypt",status="200"} 1');
    expect(text).toContain('coffer_request_errors_total{operation="Decrypt",error="InvalidCiphertextException"} 1');
    expect(text).toContain('coffer_request_duration_seconds_bucket{operation="Encrypt",le="+Inf"} 1');
    expect(text).toContain('coffer_request_duration_seconds_count{operation="Decrypt"} 1');
    expect(text).toContain('coffer_test_gauge 7');
    expect(text).toContain('coffer_throttles_total 0');
    expect(text).toContain('coffer_requests_in_flight 0');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('keeps one series per label set whatever the labels\' order, and apart when only the split between values differs', () => {
    const m = new Metrics();
    m.requests.inc({ operation: 'Encrypt', status: '200' });
    m.requests.inc({ status: '200', operation: 'Encrypt' });
    m.requests.inc({ operation: 'Encrypt2', status: '00' });
    m.requests.inc({ operation: 'Encrypt', status: '2' }, 5);
    expect(m.requests.get({ status: '200', operation: 'Encrypt' })).toBe(2);
    expect(m.requests.get({ operation: 'Encrypt2', status: '00' })).toBe(1);
    expect(m.requests.get({ operation: 'Encrypt', status: '2' })).toBe(5);
    expect(m.render().match(/^coffer_requests_total\{/gm)).toHaveLength(3);
  });

  it('counts a ThrottlingException answer as a throttle and escapes label values', () => {
    const m = new Metrics();
    m.startRequest('we"ird\\op')(400, 'ThrottlingException');
    expect(m.throttles.get()).toBe(1);
    expect(m.render()).toContain('operation="we\\"ird\\\\op"');
  });
});

describe('logs', () => {
  it('redact secret-named fields at any of three levels and never print a foreign error message', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    log.info('x', { pin: '1234', a: { secretAccessKey: 'abc', b: { plaintext: 'p' } }, error: new Error('bound value 42') });
    const entry = JSON.parse(lines[0] as string) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(entry.pin).toBe(REDACTED);
    expect(entry.a.secretAccessKey).toBe(REDACTED);
    expect(entry.a.b.plaintext).toBe(REDACTED);
    expect(lines[0]).not.toContain('bound value 42');
    expect(entry).toMatchObject({ level: 'info', msg: 'x' });
  });

  it('keep only stack frames of an error whose message spans lines (Drizzle: "Failed query ... params: ...")', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    const wrapped = new KmsError('AlreadyExistsException', 'The resource already exists.', {
      cause: new Error('Failed query: insert into "users" values ($1, $2)\nparams: 111122223333,canary-bound-secret'),
    });
    log.error('start-up failed', { error: wrapped });
    expect(lines[0]).not.toContain('canary-bound-secret');
    expect(lines[0]).not.toContain('params:');
    const frames = (JSON.parse(lines[0] as string) as { error: { cause: { frames: string[] } } }).error.cause.frames;
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) expect(f).toMatch(/^at /);
  });

  it('respect the level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l));
    log.info('hidden');
    log.warn('shown');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['shown']);
  });
});

describe('readiness', () => {
  const passed = { passed: true, checks: { 'aes-gcm': 'passed', ecdsa: 'passed', hmac: 'skipped' } } as const;
  const base = { tokenLoggedIn: async () => true, selfTest: passed, databaseReachable: async () => true, migrationsCurrent: async () => true, shuttingDown: () => false };

  it('is ready when every check passes', async () => {
    expect(await checkReadiness(base)).toEqual({ ready: true, failing: [], selfTest: passed.checks });
  });

  it('names each failing check, a throwing check counts as failing, and a down database hides migrations', async () => {
    const r = await checkReadiness({
      ...base,
      tokenLoggedIn: async () => {
        throw new Error('x');
      },
      selfTest: { passed: false, checks: { 'aes-gcm': 'failed', ecdsa: 'passed', hmac: 'passed' } },
      databaseReachable: async () => false,
      migrationsCurrent: async () => false,
      shuttingDown: () => true,
    });
    expect(r).toMatchObject({ ready: false, failing: ['shutting-down', 'token-login', 'self-test', 'database'] });
  });
});

describe('FIPS policy', () => {
  const caps = { mechanisms: {}, optional: { CKM_RSA_PKCS_OAEP: true } } as unknown as Capabilities;

  it('permits fallbacks when off, refuses every fallback when on (registered or not)', () => {
    expect(new FipsPolicy(false).permits('anything')).toBe(true);
    const on = new FipsPolicy(true);
    expect(on.permits('never-registered')).toBe(false);
    try {
      on.assertPermitted('never-registered');
      expect.unreachable();
    } catch (e) {
      expect(isKmsError(e) && e.code).toBe('UnsupportedOperationException');
    }
  });

  it('lists what it disables on a token from the registered fallbacks that token needs', () => {
    expect(new FipsPolicy(true).disabled(caps)).toEqual([]);
    registerFallback({ id: 'test-fallback', operations: ['Decrypt (RSA)'], neededBy: (c) => c.optional.CKM_RSA_PKCS_OAEP === true });
    try {
      expect(new FipsPolicy(true).disabled(caps)).toEqual([{ fallback: 'test-fallback', operations: ['Decrypt (RSA)'] }]);
      expect(new FipsPolicy(false).disabled(caps)).toEqual([]);
    } finally {
      FALLBACKS.splice(FALLBACKS.findIndex((f) => f.id === 'test-fallback'), 1);
    }
  });
});

describe('config', () => {
  it('reads the shutdown bound and FIPS mode, with defaults', () => {
    expect(loadConfig({})).toMatchObject({ shutdownTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, fipsMode: false });
    expect(loadConfig({ COFFER_SHUTDOWN_TIMEOUT_SECONDS: '5', COFFER_KEEP_ALIVE_TIMEOUT_SECONDS: '120', COFFER_FIPS_MODE: '1' })).toMatchObject({ shutdownTimeoutMs: 5000, keepAliveTimeoutMs: 120_000, fipsMode: true });
  });

  it('reads DATABASE_URL_FILE into a secret that prints as ***', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'coffer-cfg-')), 'db-url');
    writeFileSync(file, 'postgres://coffer:s3cret@db:5432/coffer\n');
    const config = loadConfig({ DATABASE_URL_FILE: file });
    expect(config.databaseUrl?.reveal()).toBe('postgres://coffer:s3cret@db:5432/coffer');
    expect(JSON.stringify(config)).not.toContain('s3cret');
  });

  it('reads DATABASE_URL_FILE, refuses it together with DATABASE_URL, and never echoes its content', () => {
    const bad = () => loadConfig({ DATABASE_URL_FILE: '/nonexistent/db-url' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/DATABASE_URL_FILE: cannot read \/nonexistent\/db-url \(ENOENT\)/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://a', DATABASE_URL_FILE: '/x' })).toThrow(/set one, not both/);
  });
});
