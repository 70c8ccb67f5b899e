// @lab/proxmox-sdk/testing: test doubles and suites that ship with the SDK, for this monorepo's
// tests and for anyone who builds on it. Needs vitest (an optional peer dependency); the test lab
// also needs @lab/pve-sim. Every name here is listed in test/public-surface.test.ts.
export { createMemoryStore } from './memory-store.js';
export { describeStoreConformance } from './store-conformance.js';
export { clientForSim, type SimEndpoint } from './sim-client.js';
export { closeAfterEach, type Closable } from './close-after-each.js';
export {
  runningWindowsVm,
  startTestLab,
  testLabIds,
  useTestLab,
  type TestLab,
  type TestLabCommands,
} from './test-lab.js';
export { describePersonNotifierConformance, type PersonNotifierPlatform } from './person-notifier-conformance.js';
