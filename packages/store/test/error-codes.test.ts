import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '@lab/proxmox-sdk';
import * as store from '../src/index.js';

describe("the store's errors in the SDK's code catalogue", () => {
  it('lists each exported error class of the store with its own code', () => {
    const catalogue = readFileSync(resolve(import.meta.dirname, '../../sdk/ERRORS.md'), 'utf8');
    const classes = Object.values(store).filter((v): v is typeof LabError => typeof v === 'function' && Object.prototype.isPrototypeOf.call(LabError.prototype, v.prototype));
    expect(classes.map((c) => c.name)).toEqual(['StoreDriverMissingError']);
    for (const c of classes) expect(catalogue).toContain(`| \`${c.code}\` | \`${c.name}\` |`);
  });
});
