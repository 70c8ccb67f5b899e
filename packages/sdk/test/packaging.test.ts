import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = resolve(import.meta.dirname, '..');
const repoRoot = resolve(packageDir, '../..');
let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'lab-sdk-consumer-'));
  execFileSync('npm', ['pack', '--pack-destination', project, '--silent'], { cwd: packageDir, stdio: 'pipe' });
  const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`], {
    cwd: project,
    stdio: 'pipe',
  });
}, 180_000);

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('the packed @lab/proxmox-sdk in an empty project', () => {
  it('exposes ProxmoxClient through require()', () => {
    const out = execFileSync(
      process.execPath,
      ['-e', "const s = require('@lab/proxmox-sdk'); console.log(typeof s.ProxmoxClient, typeof s.isLabError)"],
      { cwd: project },
    ).toString();
    expect(out.trim()).toBe('function function');
  });

  it('exposes ProxmoxClient through import()', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const s = await import('@lab/proxmox-sdk'); console.log(typeof s.ProxmoxClient, typeof s.LabError)",
      ],
      { cwd: project },
    ).toString();
    expect(out.trim()).toBe('function function');
  });

  it('loads undici only when a client sends its first request, for import and require', () => {
    // undici is CommonJS, so once loaded (from either module system) its files are in require.cache.
    const body = [
      "const cache = require('node:module').createRequire(process.cwd() + '/').cache;",
      "const undici = () => Object.keys(cache).some((f) => f.includes('/node_modules/undici/'));",
      "const client = new s.ProxmoxClient({ baseUrl: 'https://127.0.0.1:9', auth: { type: 'token', tokenId: 'a@pve!b', secret: 's' }, retry: { maxAttempts: 1 }, timeoutMs: 5000 });",
      'const before = undici();',
      'client.version().catch((e) => e.code).then(async (code) => { console.log(before, undici(), code); await client.close(); });',
    ].join('\n');
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module'; const require = createRequire(process.cwd() + '/'); const s = await import('@lab/proxmox-sdk');\n${body}`,
      ],
      { cwd: project },
    ).toString();
    const cjs = execFileSync(process.execPath, ['-e', `const s = require('@lab/proxmox-sdk');\n${body}`], {
      cwd: project,
    }).toString();
    expect(esm.trim()).toBe('false true LAB_PVE_CONNECTION');
    expect(cjs.trim()).toBe('false true LAB_PVE_CONNECTION');
  });

  it.each(['pve', 'errors', 'store', 'terraform', 'network', 'testing'])(
    'resolves the /%s entry for import and require, with its types',
    (entry) => {
      const script = `const r = require('node:module').createRequire(process.cwd() + '/'); console.log(r.resolve('@lab/proxmox-sdk/${entry}').endsWith('${entry}.cjs'))`;
      expect(execFileSync(process.execPath, ['-e', script], { cwd: project }).toString().trim()).toBe('true');
      const esm = `console.log(import.meta.resolve('@lab/proxmox-sdk/${entry}').endsWith('${entry}.js'))`;
      expect(
        execFileSync(process.execPath, ['--input-type=module', '-e', esm], { cwd: project }).toString().trim(),
      ).toBe('true');
      const dir = join(project, 'node_modules/@lab/proxmox-sdk/dist');
      expect(readdirSync(dir)).toEqual(expect.arrayContaining([`${entry}.d.ts`, `${entry}.d.cts`]));
    },
  );

  it('ships types that a TypeScript user compiles against, for both module systems', () => {
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    writeFileSync(
      join(project, 'use.ts'),
      [
        "import { ProxmoxClient } from '@lab/proxmox-sdk';",
        "import { PveHttpError } from '@lab/proxmox-sdk/errors';",
        "import type { PveApi } from '@lab/proxmox-sdk/pve';",
        "const api: PveApi = new ProxmoxClient({ baseUrl: 'https://pve:8006', auth: { type: 'token', tokenId: 'a@pve!b', secret: 's' } });",
        'const status: number = new PveHttpError({ clusterId: "c", method: "GET", path: "/", status: 500, pveMessage: "" }).status;',
        'export { api, status };',
      ].join('\n'),
    );
    for (const module of ['nodenext', 'commonjs']) {
      const resolution = module === 'commonjs' ? 'node10' : 'nodenext';
      execFileSync(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          '--skipLibCheck',
          '--types',
          'node',
          '--module',
          module,
          '--moduleResolution',
          resolution,
          '--typeRoots',
          join(repoRoot, 'node_modules/@types'),
          'use.ts',
        ],
        { cwd: project, stdio: 'pipe' },
      );
    }
    // A type error must fail, or the check above proves nothing.
    writeFileSync(
      join(project, 'bad.ts'),
      "import { ProxmoxClient } from '@lab/proxmox-sdk';\nnew ProxmoxClient({ baseUrl: 1 });\n",
    );
    expect(() =>
      execFileSync(
        process.execPath,
        [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'bad.ts'],
        { cwd: project, stdio: 'pipe' },
      ),
    ).toThrow();
  }, 300_000); // three tsc runs: 20 s on an idle 2-core machine, several times that on a busy one
});
