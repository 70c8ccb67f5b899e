import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const tsx = resolve(root, 'node_modules/tsx/dist/cli.mjs');

describe('examples run as an outside user would run them', () => {
  it('cluster-tour lists the simulated templates', () => {
    const { PVE_URL: _ignored, ...env } = process.env;
    const out = execFileSync(process.execPath, [tsx, 'examples/cluster-tour.ts'], { cwd: root, env }).toString();
    expect(out).toContain('PVE 9.1.3: 4 guests, 5 templates');
    expect(out).toContain('template 9000 ubuntu-2404-cloud on pve1');
  });

  it('clone-and-verify clones linked, then falls back to full on thick LVM', () => {
    const { PVE_URL: _ignored, ...env } = process.env;
    const out = execFileSync(process.execPath, [tsx, 'examples/clone-and-verify.ts'], { cwd: root, env }).toString();
    expect(out).toMatch(/linked clone \d+ on pve1: boot disk local-lvm:vm-\d+-disk-0,/);
    expect(out).toContain("(fell back: storage 'thick-lvm' (lvm) cannot hold linked clones)");
    expect(out).toContain('its config has no lock: true');
  });
});
