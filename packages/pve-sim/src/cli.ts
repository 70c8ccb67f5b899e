#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startPveSim } from './pve-sim.js';

const usage = `usage: pve-sim [--port N] [--host 127.0.0.1] [--scenario small|school|large|FILE] [--time-scale N] [--seed N] [--token USER@REALM!ID=SECRET] [--pve-version 9.1.3|8.4.1] [--ignore-acpi-rate 0..1]`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        scenario: { type: 'string', default: 'small' },
        'time-scale': { type: 'string', default: '1' },
        seed: { type: 'string', default: '1' },
        token: { type: 'string' },
        'pve-version': { type: 'string' },
        'ignore-acpi-rate': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`pve-sim: ${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  const number = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      console.error(`pve-sim: --${name} must be a number ≥ ${min}, got '${text}'\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  const sim = await startPveSim({
    port: number('port', values.port, 0),
    host: values.host,
    scenario: values.scenario,
    timeScale: number('time-scale', values['time-scale'], Number.MIN_VALUE),
    seed: number('seed', values.seed, 0),
    ...(values.token ? { token: values.token } : {}),
    ...(values['pve-version'] !== undefined ? { pveVersion: values['pve-version'] } : {}),
    ...(values['ignore-acpi-rate'] !== undefined
      ? { ignoreAcpiRate: number('ignore-acpi-rate', values['ignore-acpi-rate'], 0) }
      : {}),
  });
  console.log(
    JSON.stringify({ url: sim.url, fingerprint: sim.fingerprint, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret }),
  );
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`pve-sim: ${(err as Error).message}`);
  process.exit(1);
});
