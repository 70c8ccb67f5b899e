import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '@lab/proxmox-sdk';
import * as web from '../src/index.js';

describe("the web portal's errors in the SDK's code catalogue", () => {
  it('lists each exported error class of the portal with its own code', () => {
    const catalogue = readFileSync(resolve(import.meta.dirname, '../../sdk/ERRORS.md'), 'utf8');
    const classes = Object.values(web).filter(
      (v): v is never =>
        typeof v === 'function' && Object.prototype.isPrototypeOf.call(LabError.prototype, v.prototype),
    ) as Array<{ name: string; code: string }>;
    expect(classes.map((c) => c.name).sort()).toEqual([
      'WebProviderUnavailableError',
      'WebRequestRefusedError',
      'WebSignInRefusedError',
      'WebUnknownPersonError',
    ]);
    for (const c of classes) expect(catalogue).toContain(`| \`${c.code}\` | \`${c.name}\` |`);
  });
});
