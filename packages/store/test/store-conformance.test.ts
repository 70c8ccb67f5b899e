import { afterAll } from 'vitest';
import { describeStoreConformance } from '@lab/proxmox-sdk/testing';
import { enginesUnderTest } from './engines.js';

const { engines, skipped } = await enginesUnderTest();
if (skipped) console.log(`[store conformance] PostgreSQL skipped: ${skipped}`);
afterAll(async () => {
  for (const e of engines) await e.dispose();
});

for (const engine of engines) describeStoreConformance(engine.name, () => engine.open());
