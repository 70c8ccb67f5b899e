import { defineProject, mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

export default mergeConfig(
  sharedTestConfig,
  defineProject({
    // These tests spawn processes (lab, workers, tsx) or run whole deployments: ten times their idle
    // duration, so a 2-core machine under full load still finishes them.
    test: { name: 'store', testTimeout: 120_000, hookTimeout: 120_000 },
  }),
);
