#!/usr/bin/env node
// Patches postgres.js 3.4.x (run as npm postinstall): a write scheduled with setImmediate can run after the socket
// closed and throw an uncatchable TypeError that kills the process when Postgres restarts (porsager/postgres#1154,
// #1208; unmerged fixes #1168, #1176, #1209). The guard fails the pending queries with CONNECTION_CLOSED instead, and
// teardown forgets the buffered write. Idempotent; writes a new file (rename) so hard-linked node_modules stay intact.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MARKER = '/* coffer: nextWrite guard */';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js'].map((f) => join(root, 'node_modules', 'postgres', f));

const edits = [
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARKER}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  ['    clearImmediate(nextWriteTimer)\n    if (socket) {', '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {'],
  ['    clearImmediate(nextWriteTimer)\n    socket.removeListener', '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener'],
];

let status = 0;
for (const file of files) {
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARKER)) continue;
  const missing = edits.filter(([from]) => !text.includes(from));
  if (missing.length > 0) {
    process.stderr.write(`[coffer] postgres.js changed: cannot apply the nextWrite guard to ${file}; check whether upstream fixed it\n`);
    status = 1;
    continue;
  }
  for (const [from, to] of edits) text = text.replace(from, to);
  writeFileSync(`${file}.coffer-tmp`, text);
  renameSync(`${file}.coffer-tmp`, file);
}
process.exitCode = status;
