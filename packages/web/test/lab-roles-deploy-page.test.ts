// The portal's "Deploy or scale" page of a class with several VMs per student: the plan per role
// (template, size, names, networks) before, the confirm list per role after, all through the router.
import * as commands from '@lab/commands';
import { startTestLab, testLabIds } from '@lab/proxmox-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TestBrowser,
  csrfOf,
  startDevOidcProvider,
  startPortal,
  type DevOidcProvider,
  type Lab,
  type PortalUnderTest,
} from './web-test-lab.js';

let lab: Lab;
let provider: DevOidcProvider;
let web: PortalUnderTest;

beforeAll(async () => {
  lab = await startTestLab(commands, { sdn: { prefix: 'lab' } });
  await lab.services.catalog.create({
    name: 'windows',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
  provider = await startDevOidcProvider();
  web = await startPortal(lab, {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
  });
}, 60_000);
afterAll(async () => {
  await web?.close();
  await provider?.close();
  await lab?.close();
});

describe('Deploy or scale for a class with roles', () => {
  it('shows each role’s template, size and VM names and the networks, and confirms a scale-down per role', async () => {
    const browser = new TestBrowser();
    const start = await browser.get(`${web.url}/login?login_hint=lovelace`, { follow: true });
    const csrf = csrfOf(await start.text());

    const plain = await (await browser.get(`${web.url}/class/cs101/deploy`)).text();
    expect(plain).toContain('name="template"');
    expect(plain).not.toContain('data-role=');

    const set = await lab.router.invoke({
      platform: 'slack',
      userId: testLabIds.teacher,
      command: 'class',
      text: 'set-lab cs101 attacker=ubuntu target=windows:1:1024 --network student --internet none',
    });
    expect(set.error, set.text).toBeFalsy();
    const page = await (await browser.get(`${web.url}/class/cs101/deploy`)).text();
    expect(page).not.toContain('name="template"');
    expect(page).toContain('Per seat: 2 VMs, one per role');
    expect(page).toMatch(
      /<tr class="role" data-role="attacker">\s*<td>attacker<\/td>\s*<td>ubuntu<\/td>\s*<td>template’s<\/td>\s*<td>template’s<\/td>\s*<td>cs101-&lt;student&gt;-attacker<\/td>\s*<td>cs101-attacker-teacher<\/td>/,
    );
    expect(page).toMatch(
      /<tr class="role" data-role="target">\s*<td>target<\/td>\s*<td>windows<\/td>\s*<td>1<\/td>\s*<td>1024 MiB<\/td>/,
    );
    expect(page).toContain('one private network per seated student, and one for the teacher VMs');
    expect(page).toContain(', no internet.');

    const summaries = await lab.services.engine.deployLab({ classId: 'cs101', count: 2, requestedBy: 'lovelace' });
    expect(summaries.map((s) => s.status)).toEqual(['done', 'done']);
    // Two students with two VMs each are two seats.
    const after = await (await browser.get(`${web.url}/class/cs101/deploy`)).text();
    expect(after).toMatch(/2 seat\(s\) now means\s+4\s+student VM\(s\)/);

    // Scaling down asks first, listing each role's part of the plan.
    const asked = await browser.post(`${web.url}/class/cs101/deploy`, { _csrf: csrf, count: '1' });
    expect(asked.status).toBe(200);
    const confirm = await asked.text();
    expect(confirm).toContain('cs101-bob-attacker');
    expect(confirm).toContain('cs101-bob-target');
    expect(confirm).toContain('Per role, in this order:');
    expect(confirm).toContain('attacker (ubuntu): 0 to create, 3 kept, 1 to delete');
    expect(confirm).toContain('target (windows): 0 to create, 3 kept, 1 to delete');
  }, 120_000);
});
