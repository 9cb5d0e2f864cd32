import { defineConfig } from 'vitest/config';

// Two cores: at most two test files at once. End-to-end files start real processes,
// so timeouts are generous but bounded.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
