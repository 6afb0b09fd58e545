// Static checks of docker/: no Docker engine exists here, so the files are parsed and the fields that matter checked.
/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML is untyped; the assertions are the type checks */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const DOCKER = resolve(import.meta.dirname, '..', '..', 'docker');
const read = (p: string) => readFileSync(join(DOCKER, p), 'utf8');

interface Stage { name: string; base: string; lines: string[] }

/** FROM-delimited stages with their instructions (continuation lines joined). */
function stages(dockerfile: string): Stage[] {
  const joined = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of joined) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ base: from[1] as string, name: from[2] ?? '', lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const lastUser = (s: Stage) => s.lines.filter((l) => /^USER\s/i.test(l)).at(-1)?.split(/\s+/)[1];
const isRoot = (u: string | undefined) => u === undefined || /^(root|0)(:|$)/.test(u);

describe('Dockerfile', () => {
  const all = stages(read('Dockerfile'));
  const byName = (n: string) => {
    const s = all.find((x) => x.name === n);
    if (!s) throw new Error(`no stage ${n}`);
    return s;
  };

  it('has build, runtime and dev stages', () => {
    expect(all.map((s) => s.name)).toEqual(['build', 'runtime', 'dev']);
    expect(byName('dev').base).toBe('runtime');
  });

  it('builds the native addon with a compiler only in the build stage', () => {
    expect(byName('build').lines.join('\n')).toMatch(/g\+\+/);
    expect(byName('build').lines.join('\n')).toMatch(/python3/);
    expect(byName('runtime').lines.join('\n')).not.toMatch(/g\+\+|python3/);
  });

  it('runs runtime and dev as a non-root user', () => {
    expect(isRoot(lastUser(byName('runtime')))).toBe(false);
    expect(isRoot(lastUser(byName('dev')))).toBe(false);
  });

  it('puts SoftHSM only in the dev image', () => {
    expect(byName('dev').lines.join('\n')).toMatch(/softhsm2/);
    expect(byName('runtime').lines.join('\n')).not.toMatch(/softhsm/i);
    expect(byName('build').lines.join('\n')).not.toMatch(/softhsm/i);
  });

  it('ships dist/ and db/migrations in the runtime image, and starts the compiled server', () => {
    const rt = byName('runtime').lines;
    expect(rt).toContainEqual(expect.stringMatching(/^COPY --from=build \S*dist \S*dist$/));
    expect(rt).toContainEqual(expect.stringMatching(/^COPY --from=build \S*db\/migrations \.\/db\/migrations$/));
    expect(rt.find((l) => l.startsWith('CMD'))).toContain('dist/server/main.js');
  });

  it('sets no PIN or database URL literal', () => {
    expect(read('Dockerfile')).not.toMatch(/PKCS11_PIN\s*=|DATABASE_URL\s*=/);
  });
});

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml')) as { services: Record<string, Record<string, unknown>> };

  it('runs Postgres and Coffer on the dev image, with health checks, Coffer waiting for a healthy Postgres', () => {
    const { postgres, coffer } = compose.services as Record<string, Record<string, any>>;
    expect(postgres?.healthcheck?.test).toBeDefined();
    expect(coffer?.healthcheck?.test.join(' ')).toContain('/readyz');
    expect(coffer?.build?.target).toBe('dev');
    expect(coffer?.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  it('passes secrets as files, never as environment literals', () => {
    for (const svc of Object.values(compose.services)) {
      const env = (svc.environment ?? {}) as Record<string, string>;
      expect(Object.keys(env).filter((k) => /PIN$|PASSWORD$|^DATABASE_URL$/.test(k))).toEqual([]);
    }
  });
});

describe('Kubernetes example', () => {
  const docs = readdirSync(join(DOCKER, 'k8s'))
    .filter((f) => f.endsWith('.yaml') && !f.includes('example'))
    .flatMap((f) => parseAllDocuments(read(join('k8s', f))).map((d) => d.toJS() as Record<string, any>));
  const kind = (k: string) => {
    const d = docs.find((x) => x.kind === k);
    if (!d) throw new Error(`no ${k}`);
    return d;
  };
  const deployment = kind('Deployment');
  const pod = deployment.spec.template.spec;
  const coffer = pod.containers.find((c: { name: string }) => c.name === 'coffer');

  it('runs at least two replicas, never below one during rollouts', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('leaves time to drain: preStop pause plus the shutdown bound fit in the grace period', () => {
    const env = Object.fromEntries(coffer.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    const pause = Number(coffer.lifecycle.preStop.exec.command[1]);
    expect(pause + Number(env.COFFER_SHUTDOWN_TIMEOUT_SECONDS)).toBeLessThan(pod.terminationGracePeriodSeconds);
  });

  it('probes readiness on /readyz and liveness on /healthz', () => {
    expect(coffer.readinessProbe.httpGet.path).toBe('/readyz');
    expect(coffer.livenessProbe.httpGet.path).toBe('/healthz');
  });

  it('reads the PIN from a mounted Secret file, with no PIN in args or env literals', () => {
    const env = Object.fromEntries(coffer.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env).not.toHaveProperty('COFFER_PKCS11_PIN');
    expect(env).not.toHaveProperty('DATABASE_URL');
    const pinFile = env.COFFER_PKCS11_PIN_FILE as string;
    const mount = coffer.volumeMounts.find((m: { mountPath: string }) => pinFile.startsWith(`${m.mountPath}/`));
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.secret.secretName).toBeTruthy();
    expect(JSON.stringify([coffer.args ?? [], coffer.command ?? []])).not.toMatch(/pin/i);
  });

  it('runs as non-root without privilege escalation', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(coffer.securityContext.allowPrivilegeEscalation).toBe(false);
  });

  it('has a Service and a PodDisruptionBudget whose selectors match the pods', () => {
    const labels = deployment.spec.template.metadata.labels;
    const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true);
    expect(matches(kind('Service').spec.selector)).toBe(true);
    const pdb = kind('PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });
});

describe('postgres.js patch', () => {
  it('is applied to every build of the installed driver (a restart of Postgres must not kill the process)', () => {
    const root = resolve(DOCKER, '..', 'node_modules', 'postgres');
    for (const f of ['src/connection.js', 'cjs/src/connection.js']) {
      expect(readFileSync(join(root, f), 'utf8')).toContain('/* coffer: nextWrite guard */');
    }
  });

  it('runs in the image build before npm ci', () => {
    const text = read('Dockerfile');
    expect(text.indexOf('COPY scripts/patch-postgres.mjs')).toBeGreaterThan(-1);
    expect(text.indexOf('COPY scripts/patch-postgres.mjs')).toBeLessThan(text.indexOf('RUN npm ci'));
  });
});
