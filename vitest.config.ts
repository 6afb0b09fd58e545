// Test runner configuration: real SoftHSM and Postgres make some tests slow, so timeouts are generous.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Vitest runs cores - 1 files at once: one at a time on the 2-core CI machines, though most files spend their time
// waiting on servers, Postgres and the token. Two at a time there took the suite from 714 s to 458 s (2026-12-01,
// 874 tests, the same results); each file has its own database, token directory and ports, so files do not share state.
// The reliability soak (RELIABILITY_SOAK=1) keeps vitest's default: its files are long and load the machine on their own.
const SOAK = process.env.RELIABILITY_SOAK === '1';
const FILES_AT_ONCE = SOAK ? undefined : Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: FILES_AT_ONCE,
    minWorkers: FILES_AT_ONCE,
    // The on-demand reliability soak (RELIABILITY_SOAK=1) runs far longer than the per-test limit of ordinary runs.
    testTimeout: SOAK ? 3_600_000 : 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // The AWS SDK's notice that its releases after January 2027 need Node 22 was printed by every test file under
    // Node 20 (nine lines, 88 times) and buried the failures; the lockfile pins the SDK and the suite runs on Node
    // 20 and 22 (scripts/test-node22).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
