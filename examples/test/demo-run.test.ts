import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cwd = mkdtempSync(join(tmpdir(), 'lab-demo-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('npm run demo', () => {
  it("says on which nodes the VMs go and to which nodes the base is copied, not the base's own node as a copy's", () => {
    const out = execFileSync(process.execPath, [resolve(root, 'scripts/demo.mjs')], { cwd }).toString();
    const plan = out.split('\n').find((line) => line.startsWith('/lab deploy cs101 10 → plan:'));
    expect(plan).toMatch(
      /^\/lab deploy cs101 10 → plan: 14 VMs to create \(teacher, base template, 10 students, 2 copies of the base\) on (pve\d, ){2}pve\d; the copies go to pve\d, pve\d$/,
    );
    const copies = plan!.slice(plan!.lastIndexOf(' to ') + 4).split(', ');
    expect(copies).not.toContain('pve1');
    expect(out).toMatch(/done: 14 created, 0 failed/);
  });
});
