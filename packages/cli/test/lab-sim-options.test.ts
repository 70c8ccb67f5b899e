// `lab sim` behaves like the Proxmox VE release it is asked to, and refuses settings it cannot use.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProxmoxClient } from '@lab/proxmox-sdk';
import { runLab, startLab, stopLab } from './helpers.js';

interface SimLine {
  url: string;
  fingerprint: string;
  tokenId: string;
  tokenSecret: string;
}

const dir = mkdtempSync(join(tmpdir(), 'lab-sim-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lab sim', () => {
  it('answers as the release --pve-version names', async () => {
    const { child, first } = await startLab<SimLine>(
      ['sim', '--pve-version', '8.4.1', '--ignore-acpi-rate', '0.5', '--time-scale', '400'],
      { cwd: dir },
    );
    const api = new ProxmoxClient({
      clusterId: 'lab',
      baseUrl: first.url,
      auth: { type: 'token', tokenId: first.tokenId, secret: first.tokenSecret },
      tls: { fingerprint: first.fingerprint },
    });
    try {
      expect((await api.version()).version).toBe('8.4.1');
    } finally {
      await api.close();
      await stopLab(child);
    }
  });

  it('refuses a release or a share it cannot use, saying what it takes', async () => {
    const version = await runLab(['sim', '--pve-version', 'nine'], { cwd: dir });
    expect(version.code).not.toBe(0);
    expect(version.stderr).toContain("--pve-version takes a release like 9.1.3 or 8.4.1, not 'nine'.");
    const rate = await runLab(['sim', '--ignore-acpi-rate', '2'], { cwd: dir });
    expect(rate.code).not.toBe(0);
    expect(rate.stderr).toContain("--ignore-acpi-rate takes a share from 0 to 1 (0.2 is one guest in five), not '2'.");
  });
});
