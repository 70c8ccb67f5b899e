import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
// Every ```js block of the README that starts with `// <file>.js` is a file of a new ESM project.
const snippets = new Map(
  [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```js\n\/\/ ([\w-]+\.js)\b[^\n]*\n([\s\S]*?)```/g)].map(
    (m) => [m[1]!, `// ${m[1]}\n${m[2]}`],
  ),
);
const project = mkdtempSync(join(tmpdir(), 'lab-readme-'));
let sim: PveSim;

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 400 });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-check', private: true, type: 'module' }));
  // The packages an `npm install @lab/proxmox-sdk @lab/proxmox-store` would bring, from this repository.
  symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir');
  for (const [file, text] of snippets) writeFileSync(join(project, file), text);
  writeFileSync(join(project, 'token'), sim.tokenSecret);
  // What `lab init --url … --token-id … --token-secret-file token --yes` writes.
  writeFileSync(
    join(project, 'lab.config.json'),
    JSON.stringify({
      store: 'sqlite:./lab.db',
      clusters: [
        { id: 'pve', url: sim.url, tokenId: sim.tokenId, tokenSecretFile: 'token', fingerprint: sim.fingerprint },
      ],
    }),
  );
});
afterAll(async () => {
  await sim.close();
  rmSync(project, { recursive: true, force: true });
});

describe("the README's SDK snippets run as written in a new ESM project", () => {
  it('finds them', () => {
    expect([...snippets.keys()]).toEqual(['deploy-class.js', 'clone.js']);
  });

  it('deploy-class.js sets up a template, a teacher and cs101, then deploys ten students', async () => {
    const { stdout } = await run(process.execPath, ['deploy-class.js'], { cwd: project });
    expect(stdout).toMatch(/^registered cs101-seat-10$/m);
    expect(stdout).toMatch(/status: 'done'/);
    // Ten students, the teacher and the base, and one copy of the base per node the plan's note names.
    const copiedTo = /^base replicated to (.+?) so /m.exec(stdout)?.[1]?.split(', ') ?? [];
    for (const node of copiedTo) expect(stdout).toMatch(new RegExp(`^registered cs101-base@${node}$`, 'm'));
    expect(stdout).toMatch(new RegExp(`created: ${12 + copiedTo.length},`));
  }, 60_000);

  it('clone.js clones the template and waits for the task', async () => {
    const env = {
      ...process.env,
      PVE_URL: sim.url,
      PVE_TOKEN_ID: sim.tokenId,
      PVE_TOKEN_SECRET: sim.tokenSecret,
      PVE_FINGERPRINT: sim.fingerprint,
    };
    await run(process.execPath, ['clone.js'], { cwd: project, env });
    expect([...sim.state.guests.values()].some((g) => g.config.name === 'cs101-alice')).toBe(true);
  });
});
