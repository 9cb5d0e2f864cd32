import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/setup/slow-first-sequencer.js';

// Two cores, three test files at once: the end-to-end files spend part of their time waiting on
// real processes and timers, so a third file fills the idle CPU (fresh-clone run on 2026-12-02:
// 673 s of vitest with three against 820 s with two, CPU 93 % busy). Timeouts are generous but
// bounded. The slowest files start first (see the sequencer).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts', 'test/setup/cli-bundle.ts', 'test/setup/compiled-tree.ts'],
    pool: 'forks',
    maxWorkers: 3,
    sequence: { sequencer: SlowFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
