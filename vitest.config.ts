import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    // Each file clones its own database from a migrated template, so files run in parallel safely.
    fileParallelism: true,
    // Most test time is spent waiting: on PostgreSQL, on spawned CLI processes, on Chromium. Vitest's
    // default (one file per core, less one) left a 2-core CI machine mostly idle: measured 628 s for
    // the suite with 1 worker against 279 s with 3 on the same machine.
    maxWorkers: Math.max(3, availableParallelism()),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
