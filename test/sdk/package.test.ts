// `npm pack` in sdk/ gives an installable @coffer/sdk: compiled JavaScript, type declarations, the coffer bin.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

describe('@coffer/sdk package', () => {
  it('packs dist with declarations and an executable bin, and nothing of the sources or tests', () => {
    const dest = mkdtempSync(join(tmpdir(), 'coffer-pack-'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: join(ROOT, 'sdk'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as { name: string; files: { path: string }[]; filename: string }[];
    const files = info!.files.map((f) => f.path);
    expect(info!.name).toBe('@coffer/sdk');
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/envelope/index.d.ts', 'dist/contract/kms.d.ts', 'envelope/FORMAT.md', 'package.json']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'sdk', 'package.json'), 'utf8'));
    expect(pkg.bin.coffer).toBe('dist/cli.js');
    expect(readFileSync(join(ROOT, 'sdk', 'dist', 'cli.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    const help = execFileSync(process.execPath, [join(ROOT, 'sdk', 'dist', 'cli.js'), '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/^Usage: coffer <command>/);
  });
});
