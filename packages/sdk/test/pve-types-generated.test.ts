import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error the generator is a plain .mjs script without type declarations
import { ENDPOINTS, OUTPUT_FILE, generate } from '../scripts/generate-pve-types.mjs';

describe('the generated PVE types', () => {
  it('are up to date with the bundled API schema (run node packages/sdk/scripts/generate-pve-types.mjs)', () => {
    expect(readFileSync(OUTPUT_FILE as string, 'utf8')).toBe((generate as () => string)());
  });

  it('cover every endpoint the resource layer calls, and only those', () => {
    const layer = [
      'access-resource',
      'cluster-resource',
      'lxc-resource',
      'nodes-resource',
      'qemu-resource',
      'sdn-resource',
      'storage-resource',
      'tasks-resource',
      'version-resource',
    ]
      .map((f) => readFileSync(new URL(`../src/pve/${f}.ts`, import.meta.url), 'utf8'))
      .join('\n');
    const called = new Set(
      [...layer.matchAll(/(?:callEndpoint\(\s*[^,]+,\s*|endpointPath\()'([A-Z]+ [^']+)'/g)].map((m) => m[1]),
    );
    const generated = new Set(
      (ENDPOINTS as Array<[string, string, string]>).map(([method, path]) => `${method} ${path}`),
    );
    expect([...called].sort()).toEqual([...generated].sort());
  });

  it('fail loudly when an endpoint is missing from the schema', () => {
    expect(() => (generate as (text: string) => string)('[]')).toThrow(/is not in the PVE API schema/);
  });
});
