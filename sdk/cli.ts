#!/usr/bin/env node
// The coffer command: see `coffer --help` (implementation under sdk/cli/).
import { main } from './cli/main.js';

process.exitCode = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
