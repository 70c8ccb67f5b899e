import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '@lab/proxmox-sdk';
import * as store from '../src/index.js';

interface ErrorClass {
  name: string;
  code: string;
}

describe("the store's errors in the SDK's code catalogue", () => {
  it('lists each exported error class of the store with its own code', () => {
    const catalogue = readFileSync(resolve(import.meta.dirname, '../../sdk/ERRORS.md'), 'utf8');
    // `instanceof LabError` checks an instance's brand, so classes are told by their prototype chain.
    const classes = Object.values(store).filter(
      (v): v is never =>
        typeof v === 'function' && Object.prototype.isPrototypeOf.call(LabError.prototype, v.prototype),
    ) as ErrorClass[];
    expect(classes.map((c) => c.name).sort()).toEqual(['StoreDataError', 'StoreDriverMissingError']);
    for (const c of classes) expect(catalogue).toContain(`| \`${c.code}\` | \`${c.name}\` |`);
  });
});
