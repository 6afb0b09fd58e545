// Test runner configuration: real SoftHSM and Postgres make some tests slow, so timeouts are generous.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // The on-demand reliability soak (RELIABILITY_SOAK=1) runs far longer than the per-test limit of ordinary runs.
    testTimeout: process.env.RELIABILITY_SOAK === '1' ? 3_600_000 : 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
