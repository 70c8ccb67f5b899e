import { describe, expect, it } from 'vitest';
import { isLabError } from '@lab/proxmox-sdk';
import { StoreDriverMissingError } from '../src/index.js';
import { loadDriver } from '../src/load-driver.js';

describe('database drivers are loaded on first use', () => {
  it('names the package to install when a driver is missing', () => {
    const error = (() => {
      try {
        loadDriver('lab-test-no-such-driver', 'SQLite');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StoreDriverMissingError);
    expect(isLabError(error)).toBe(true);
    expect((error as StoreDriverMissingError).code).toBe('LAB_STORE_DRIVER_MISSING');
    expect((error as Error).message).toBe(
      "the SQLite store needs the 'lab-test-no-such-driver' package, which is not installed; run npm install lab-test-no-such-driver and start again",
    );
  });

  it('loads an installed driver', () => {
    const pg = loadDriver<{ Pool: unknown }>('pg', 'PostgreSQL');
    expect(typeof pg.Pool).toBe('function');
  });

  it('does not load either driver until a store of its engine is opened', async () => {
    const { execFileSync } = await import('node:child_process');
    const script =
      "await import('@lab/proxmox-store'); const { createRequire } = await import('node:module'); const r = createRequire(import.meta.url); console.log(Object.keys(r.cache).some((k) => /node_modules[\\\\/](better-sqlite3|pg)[\\\\/]/.test(k)))";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: import.meta.dirname,
    }).toString();
    expect(out.trim()).toBe('false');
  });
});
