import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLabConfig } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-config-bom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lab.config.json saved with a byte order mark', () => {
  it('is read like the same file without one (Windows editors write UTF-8 with a BOM)', () => {
    const file = join(dir, 'lab.config.json');
    const config = {
      store: 'sqlite:./lab.db',
      clusters: [{ id: 'school', url: 'https://pve1.school.example:8006', tokenId: 'lab@pve!bot', tokenSecret: 's' }],
    };
    writeFileSync(file, `\uFEFF${JSON.stringify(config, null, 2)}`, 'utf8');
    expect(loadLabConfig(file, {}).clusters[0]).toMatchObject({ id: 'school', tokenId: 'lab@pve!bot' });
  });
});
