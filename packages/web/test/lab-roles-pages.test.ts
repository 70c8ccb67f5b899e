import * as commands from '@lab/commands';
import { startTestLab } from '@lab/proxmox-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  signInAs,
  startPortalWithDevProvider,
  type DevOidcProvider,
  type Lab,
  type PortalUnderTest,
} from './web-test-lab.js';

let lab: Lab;
let provider: DevOidcProvider;
let web: PortalUnderTest;

beforeAll(async () => {
  // The lab's `sdn` settings: the class's network per student is built by the deploy.
  lab = await startTestLab(commands, { sdn: { prefix: 'lab' } });
  await lab.services.catalog.create({
    name: 'windows',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
  ({ provider, web } = await startPortalWithDevProvider(lab));
}, 60_000);
afterAll(async () => {
  await web?.close();
  await provider?.close();
  await lab?.close();
});

const signIn = (username: string) => signInAs(web, username);

describe('the lab definition in the web portal', () => {
  it("the class's teacher sets the VMs per student in a form; a student sees each role's VM with its actions", async () => {
    const { browser, csrf } = await signIn('lovelace');
    const grid = await (await browser.get(`${web.url}/class/cs101`)).text();
    expect(grid).toContain('href="/class/cs101/set-lab"');
    const form = await (await browser.get(`${web.url}/class/cs101/set-lab`)).text();
    expect(form).toContain('gives each student one VM from its template');
    expect(form).toContain('name="role"');
    expect(form).toContain('name="network"');

    const wrong = await browser.post(`${web.url}/class/cs101/set-lab`, { _csrf: csrf, role: 'attacker=nope' });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('no active template');
    const set = await browser.post(`${web.url}/class/cs101/set-lab`, {
      _csrf: csrf,
      role: 'attacker=ubuntu, target=windows:1:1024',
      network: 'student',
    });
    expect(set.status).toBe(200);
    expect(await set.text()).toContain('each student gets 2 VM(s)');
    expect((await lab.services.store.labDefinitions.get('cs101'))?.roles.map((r) => r.name)).toEqual([
      'attacker',
      'target',
    ]);

    const summaries = await lab.services.engine.deployLab({ classId: 'cs101', count: 2, requestedBy: 'lovelace' });
    expect(summaries.map((s) => s.status)).toEqual(['done', 'done']);
    const student = await signIn('alice');
    const mine = await (await student.browser.get(`${web.url}/`)).text();
    expect(mine).toContain('cs101-alice-attacker');
    expect(mine).toContain('cs101-alice-target');
    expect(mine).toMatch(/<dt>Role<\/dt>\s*<dd class="role">attacker<\/dd>/);
    expect(mine).toMatch(/<dt>Role<\/dt>\s*<dd class="role">target<\/dd>/);
    expect(mine).not.toContain('cs101-bob');
  });
});
