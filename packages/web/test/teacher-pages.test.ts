import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  signInAs,
  startPortalWithDevProvider,
  startLabWithVms,
  type DevOidcProvider,
  type Lab,
  type PortalUnderTest,
} from './web-test-lab.js';

let lab: Lab;
let provider: DevOidcProvider;
let web: PortalUnderTest;

beforeAll(async () => {
  lab = await startLabWithVms();
  ({ provider, web } = await startPortalWithDevProvider(lab));
}, 60_000);
afterAll(async () => {
  await web?.close();
  await provider?.close();
  await lab?.close();
});

const signIn = (username: string) => signInAs(web, username);

describe('the teacher pages', () => {
  it("show the class's teacher the grid, and reset one student through the confirm step", async () => {
    const { browser, csrf } = await signIn('lovelace');
    const grid = await browser.get(`${web.url}/class/cs101`);
    const body = await grid.text();
    expect(grid.status).toBe(200);
    expect(body).toContain('<h1>cs101 — ');
    expect(body).toMatch(/<th scope="row">\s*alice\s*<\/th>/);
    expect(body).toMatch(/<th scope="row">\s*bob\s*<\/th>/);
    expect(body).toContain('Times are in UTC');

    const ask = await browser.post(`${web.url}/class/cs101/reset`, { _csrf: csrf, student: 'alice' });
    const askBody = await ask.text();
    expect(askBody).toContain('<h1>Please confirm</h1>');
    expect(askBody).toMatch(/Reset 1 VM\(s\) of cs101\?/);
    const id = /name="id" value="([^"]+)"/.exec(askBody)![1]!;
    const done = await browser.post(`${web.url}/confirm`, { _csrf: csrf, id });
    expect(done.status).toBe(200);
    expect(await done.text()).toMatch(/re-created from cs101-base/);
    const audit = await lab.services.store.audit.list({ action: 'command.lab.reset', actor: 'lovelace' });
    expect(audit.map((a) => a.details.platform)).toContain('web');
  });

  it('stop and start a selection of students from the grid', async () => {
    const { browser, csrf } = await signIn('lovelace');
    const stopped = await browser.request(
      'POST',
      `${web.url}/class/cs101/power`,
      `_csrf=${encodeURIComponent(csrf)}&students=alice&students=bob&selection=stop`,
      { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url } },
    );
    const body = await stopped.text();
    expect(body).toMatch(/alice: VM \d+ is stopped\.<br \/>bob: VM \d+ is stopped\./);
    const row = await browser.post(`${web.url}/class/cs101/power`, { _csrf: csrf, row: 'start bob' });
    expect(await row.text()).toMatch(/bob: VM \d+ is running\./);
  });

  it('reset a ticked selection through one confirm step that lists each chosen student and VM', async () => {
    const { browser, csrf } = await signIn('lovelace');
    const grid = await (await browser.get(`${web.url}/class/cs101`)).text();
    expect(grid).toContain('name="selection" value="reset"');
    const ask = await browser.request(
      'POST',
      `${web.url}/class/cs101/power`,
      `_csrf=${encodeURIComponent(csrf)}&students=alice&students=bob&selection=reset`,
      { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url } },
    );
    const askBody = await ask.text();
    expect(askBody).toContain('<h1>Please confirm</h1>');
    expect(askBody).toMatch(/Reset 2 VM\(s\) of cs101\?/);
    expect(askBody).toMatch(/cs101-alice \(\d+ on pve\d, alice&#39;s/);
    expect(askBody).toMatch(/cs101-bob \(\d+ on pve\d, bob&#39;s/);
    expect(askBody).toContain('action="/class/cs101/reset/confirm"');
    const id = /name="id" value="([^"]+)"/.exec(askBody)![1]!;
    const done = await browser.post(`${web.url}/class/cs101/reset/confirm`, { _csrf: csrf, id });
    const doneBody = await done.text();
    expect(done.status).toBe(200);
    expect(doneBody).toMatch(/alice: cs101-alice \(\d+\) was re-created from cs101-base[\w-]*\.<br \/>bob: cs101-bob/);
    const again = await browser.post(`${web.url}/class/cs101/reset/confirm`, { _csrf: csrf, id });
    expect(await again.text()).toMatch(/expired or was already used/);
    const audit = await lab.services.store.audit.list({ action: 'command.lab.reset', actor: 'lovelace' });
    expect(audit.some((a) => JSON.stringify(a.details.options).includes('"bob"'))).toBe(true);
  });

  it('report a partial failure of a selection per student', async () => {
    const { browser, csrf } = await signIn('lovelace');
    const rows = await lab.services.store.classes.assignmentsOfClass('cs101');
    const alice = (await lab.services.store.classes.getPersonByUsername('alice'))!;
    const vmid = rows.find((a) => a.personId === alice.id && a.role === 'student')!.vmid;
    const stop = (students: string) =>
      browser.request(
        'POST',
        `${web.url}/class/cs101/power`,
        `_csrf=${encodeURIComponent(csrf)}&${students}&selection=stop`,
        { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url } },
      );
    await stop('students=alice&students=bob');
    const start = (students: string) =>
      browser.request(
        'POST',
        `${web.url}/class/cs101/power`,
        `_csrf=${encodeURIComponent(csrf)}&${students}&selection=start`,
        { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url } },
      );
    lab.sim.faults.add({ method: 'POST', path: `/nodes/pve1/qemu/${vmid}/status/start`, kind: 'http-500' });
    lab.sim.faults.add({ method: 'POST', path: `/nodes/pve2/qemu/${vmid}/status/start`, kind: 'http-500' });
    try {
      const body = await (await start('students=alice&students=bob')).text();
      expect(body).toMatch(new RegExp(`alice: VM ${vmid} — [^<]+<br />bob: VM \\d+ is running\\.`));
    } finally {
      lab.sim.faults.clear();
    }
  });

  it('say in a plain sentence which field is wrong, without the chat usage line', async () => {
    const { browser, csrf } = await signIn('lovelace');
    const limits = await browser.post(`${web.url}/class/cs101/limits`, { _csrf: csrf, 'quota-hours': 'lots' });
    const body = await limits.text();
    expect(limits.status).toBe(400);
    expect(body).toMatch(
      /Check the field “hours per student outside sessions”: [^<]+\. Correct it and send the form again\./,
    );
    expect(body).not.toContain('Usage:');
    expect(body).not.toContain('/lab limits');
    const deploy = await browser.post(`${web.url}/class/cs101/deploy`, { _csrf: csrf, count: 'many' });
    const deployBody = await deploy.text();
    expect(deploy.status).toBe(400);
    expect(deployBody).toMatch(/Check the field “[^”]+”: [^<]+\. Correct it and send the form again\./);
    expect(deployBody).not.toContain('Usage:');
  });

  it('refuse a form that sends a field twice, naming the field', async () => {
    const { browser, csrf } = await signIn('lovelace');
    const twice = await browser.request(
      'POST',
      `${web.url}/class/cs101/power`,
      `_csrf=${encodeURIComponent(csrf)}&students=alice&selection=stop&selection=start`,
      { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url } },
    );
    expect(twice.status).toBe(400);
    expect(await twice.text()).toContain('The form sent the field “selection” more than once');
    const limits = await browser.request(
      'POST',
      `${web.url}/class/cs101/limits`,
      `_csrf=${encodeURIComponent(csrf)}&quota-hours=5&quota-hours=50`,
      { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url } },
    );
    expect(limits.status).toBe(400);
    expect(await limits.text()).toContain('“quota-hours” more than once');
    const filtered = await browser.get(`${web.url}/classes?class=cs101&class=cs202`);
    expect(filtered.status).toBe(400);
    expect(await filtered.text()).toContain('The form sent the field “class” more than once');
  });

  it('refuse a teacher of another class and a student, and a POST without the CSRF token', async () => {
    const other = await signIn('hopper');
    const page = await other.browser.get(`${web.url}/class/cs101`);
    expect(page.status).toBe(403);
    expect(await page.text()).toMatch(/you teach cs202/);
    const posted = await other.browser.post(`${web.url}/class/cs101/power`, { _csrf: other.csrf, row: 'stop alice' });
    expect(await posted.text()).toMatch(/you teach cs202/);
    const student = await signIn('alice');
    expect((await student.browser.get(`${web.url}/class/cs101`)).status).toBe(403);
    const forged = await student.browser.post(`${web.url}/class/cs101/power`, { row: 'stop bob' });
    expect(forged.status).toBe(403);
    const denied = await lab.services.store.audit.list({ action: 'command.lab.power', actor: 'hopper' });
    expect(denied[0]?.outcome).toBe('denied');
  });

  it('deploy and scale: the progress page follows the deployment over Server-Sent Events to its summary', async () => {
    const { browser, csrf } = await signIn('lovelace');
    const started = await browser.post(`${web.url}/class/cs101/deploy`, { _csrf: csrf, count: '3' });
    expect(started.status).toBe(303);
    expect(started.headers.get('location')).toBe('/class/cs101/progress');
    const events = await browser.get(`${web.url}/class/cs101/progress/events`);
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = await events.text();
    expect(stream).toMatch(/event: done\ndata: \{"text":"cs101: 1 created, \d+ kept, 0 deleted in/);
    const page = await browser.get(`${web.url}/class/cs101/progress`);
    expect(await page.text()).toMatch(/cs101: 1 created, \d+ kept, 0 deleted in/);
    const stranger = await signIn('hopper');
    expect((await stranger.browser.get(`${web.url}/class/cs101/progress/events`)).status).toBe(403);
  });

  it('scaling down asks first, with the same list as chat', async () => {
    const { browser, csrf } = await signIn('lovelace');
    const ask = await browser.post(`${web.url}/class/cs101/deploy`, { _csrf: csrf, count: '2' });
    const body = await ask.text();
    expect(body).toContain('<h1>Please confirm</h1>');
    expect(body).toMatch(/creates 0 VM\(s\) and deletes 1/);
    expect(body).toContain('action="/class/cs101/deploy/confirm"');
  });

  it('give the usage as CSV and the class tools as forms', async () => {
    const { browser } = await signIn('lovelace');
    const csv = await browser.get(`${web.url}/class/cs101/usage.csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toBe(
      'username,hours_used_outside_sessions,hours_left,running,top_up_hours,hours_total,cost',
    );
    expect(text).toMatch(/\r\nalice,\d+\.\d\d,,\d,0\.00,\d+\.\d\d,\r\n/);
    // With rates configured, the usage page shows the cost estimate per student and for the class.
    lab.services.costs = { perVcpuHour: 0.04, perGiBHour: 0.01, currency: 'EUR' };
    try {
      const usage = await (await browser.get(`${web.url}/class/cs101/usage`)).text();
      expect(usage).toMatch(/alice: [^<]*about \d+\.\d\d EUR/);
      expect(usage).toMatch(/Cost estimate for cs101: about \d+\.\d\d EUR/);
      const priced = await (await browser.get(`${web.url}/class/cs101/usage.csv`)).text();
      expect(priced).toMatch(/\r\nalice,\d+\.\d\d,,\d,0\.00,\d+\.\d\d,\d+\.\d\d\r\n/);
    } finally {
      delete lab.services.costs;
    }
    const limits = await (await browser.get(`${web.url}/class/cs101/limits`)).text();
    expect(limits).toContain('name="quota-hours"');
    expect(limits).not.toContain('name="class"');
  });
});

describe("a class's audit log", () => {
  it('pages a class’s entries for its teacher, newest first, and refuses a teacher of another class', async () => {
    const store = lab.services.store;
    const at = Date.now() - 3_600_000;
    for (let i = 0; i < 25; i++)
      await store.audit.record({
        at: at + i * 1000,
        actor: 'lovelace',
        action: 'class.note',
        target: 'cs101',
        outcome: 'ok',
        details: { n: i },
      });
    const { browser } = await signIn('lovelace');
    expect(await (await browser.get(`${web.url}/class/cs101`)).text()).toContain('href="/class/cs101/audit"');
    const first = await (await browser.get(`${web.url}/class/cs101/audit?action=class.note`)).text();
    expect(first.match(/<td>class\.note<\/td>/g)).toHaveLength(20);
    expect(first).toContain('href="/class/cs101/audit?action=class.note&amp;page=2"');
    expect(first).not.toContain('Newer entries');
    const second = await (await browser.get(`${web.url}/class/cs101/audit?action=class.note&page=2`)).text();
    expect(second.match(/<td>class\.note<\/td>/g)).toHaveLength(5);
    expect(second).toContain('Newer entries');
    expect(second).not.toContain('Older entries');
    const other = await signIn('hopper');
    expect((await other.browser.get(`${web.url}/class/cs101/audit`)).status).toBe(403);
  });
});

describe('the admin pages', () => {
  it('show the audit log filtered by person, and refuse a teacher', async () => {
    const { browser } = await signIn('root');
    const page = await browser.get(`${web.url}/admin/audit?person=lovelace&action=vm.stop`);
    const body = await page.text();
    expect(page.status).toBe(200);
    expect(body).toMatch(/<td>lovelace<\/td>\s*<td>vm\.stop<\/td>/);
    expect(body).not.toMatch(/<td>alice<\/td>/);
    const teacher = await signIn('lovelace');
    expect((await teacher.browser.get(`${web.url}/admin/audit`)).status).toBe(403);
    expect((await teacher.browser.get(`${web.url}/admin`)).status).toBe(403);
    expect(await (await teacher.browser.get(`${web.url}/class/cs101`)).text()).not.toContain('/class/cs101/roster');
    expect((await browser.get(`${web.url}/admin`)).status).toBe(200);
    expect((await browser.get(`${web.url}/admin/people`)).status).toBe(200);
  });
});

describe('the cluster checks page', () => {
  it('shows /lab doctor through the router, linked from Admin, and refuses a teacher', async () => {
    const { browser } = await signIn('root');
    expect(await (await browser.get(`${web.url}/admin`)).text()).toContain('href="/admin/doctor"');
    const page = await browser.get(`${web.url}/admin/doctor`);
    const body = await page.text();
    expect(page.status).toBe(200);
    expect(body).toContain('All checks passed.');
    expect(body).toMatch(/<td>cluster lab<\/td>\s*<td>reachable: Proxmox VE 9\.1\.3<\/td>/);
    const audited = await lab.services.store.audit.list({ action: 'command.lab.doctor' });
    expect(audited.map((a) => [a.actor, a.outcome])).toContainEqual(['root', 'ok']);
    const teacher = await signIn('lovelace');
    const refused = await teacher.browser.get(`${web.url}/admin/doctor`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain('Proxmox VE');
  });
});

describe('Link my chat account', () => {
  it('gives the signed-in person a code that links the Discord account that types it', async () => {
    await lab.services.store.classes.createPerson({ username: 'dora', displayName: 'Dora', role: 'student' }, 1);
    const { browser, csrf } = await signIn('dora');
    const page = await browser.post(`${web.url}/link`, { _csrf: csrf });
    const code = /<strong class="code">([0-9A-Z-]+)<\/strong>/.exec(await page.text())![1]!;
    const linked = await lab.router.invoke({
      platform: 'discord',
      userId: '700000000000000077',
      command: 'lab',
      text: `link-me ${code}`,
    });
    expect(linked).toMatchObject({ text: 'This Discord account is now linked to dora. /myvm status shows your VMs.' });
    expect((await lab.services.store.classes.findByIdentity('discord', '700000000000000077'))?.username).toBe('dora');
  });
});
