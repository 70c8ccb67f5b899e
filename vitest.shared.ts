import { defineConfig } from 'vitest/config';

/** Shared vitest defaults; every package merges its own project settings into these. */
export const sharedTestConfig = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
