import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DirectoryService,
  GroupMapping,
  exportRosterCsv,
  importRoster,
  type DirectoryRead,
  type DirectorySource,
  type Store,
} from '@lab/proxmox-sdk';
import { DirectoryConnectionError } from '@lab/proxmox-sdk/errors';
import { openStore } from '@lab/proxmox-store';
import * as commands from '../src/index.js';
import type { CommandRouter, LabServices, Reply } from '../src/index.js';
import { ids, lab } from './lab-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-directory-commands-'));
/** The lease a directory sync holds while it runs (the SDK's DirectoryService). */
const DIRECTORY_LEASE = 'directory-sync';
let env: Awaited<ReturnType<typeof lab>>;
let router: CommandRouter;
let services: LabServices;

beforeAll(async () => {
  const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
  env = await lab(commands, { store });
  ({ router, services } = env);
});
afterAll(async () => {
  await services.directory?.stop();
  await env.close();
  await services.store.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (user: string, command: string, text: string): Promise<Reply> =>
  router.invoke({ platform: 'cli', userId: user, command, text });
const slack = (userId: string, command: string, text: string): Promise<Reply> =>
  router.invoke({ platform: 'slack', userId, command, text });
const ok = (reply: Reply): Reply => {
  expect(reply.error, reply.text).toBeFalsy();
  return reply;
};
const csvOf = (reply: Reply): string => (ok(reply).data as { csv: string }).csv;

describe('CSV exports that the roster import reads back', () => {
  let school: Store;
  let admin: (command: string, text: string) => Promise<Reply>;
  beforeAll(async () => {
    school = await openStore(`sqlite:${join(dir, 'school.db')}`);
    const own = new commands.CommandRouter(
      commands.createLabServices({ store: school, clusters: services.clusters }),
      commands.builtinPlugins,
    );
    admin = (command, text) => own.invoke({ platform: 'cli', userId: 'ops', operator: true, command, text });
    ok(await admin('people', 'add lovelace --name "Ada Lovelace" --role teacher'));
    ok(await admin('class', 'create cs101 --name "Intro" --teacher lovelace'));
    ok(await admin('class', 'create cs202 --name "Systems"'));
    ok(await admin('people', 'add zed --name "Zimmer, Zed" --email zed@school.example'));
    const zed = await school.classes.getPersonByUsername('zed');
    await school.classes.updatePerson(zed!.id, { displayName: 'Zed "Z" Zimmer, Jr.' });
    ok(await admin('people', 'add alice --name "Alice Liddell"'));
    ok(await admin('people', 'link alice --slack U0ALICE1 --discord 123456789012345678'));
    ok(await admin('class', 'enrol cs101 zed alice'));
    ok(await admin('class', 'enrol cs202 alice'));
  });
  afterAll(async () => {
    await school?.close();
  });

  it('lab people export: importing it again changes nothing, and into an empty lab it makes the same roster', async () => {
    const csv = csvOf(await admin('people', 'export'));
    expect(csv.split('\r\n')).toEqual([
      'username,name,email,role,class,slack,discord',
      'alice,Alice Liddell,,student,cs101;cs202,U0ALICE1,123456789012345678',
      'lovelace,Ada Lovelace,,teacher,cs101,,',
      'zed,"Zed ""Z"" Zimmer, Jr.",zed@school.example,student,cs101,,',
      '',
    ]);
    expect(await importRoster({ store: school }, csv, { apply: true })).toMatchObject({ problems: [], changed: 0 });

    const other = await openStore(`sqlite:${join(dir, 'other.db')}`);
    try {
      for (const c of await school.classes.listClasses())
        await other.classes.createClass({ id: c.id, name: c.name, templateId: null, ownerId: null }, 1);
      const imported = await importRoster({ store: other }, csv, { apply: true });
      expect(imported.problems).toEqual([]);
      expect(await exportRosterCsv(other)).toBe(csv);
    } finally {
      await other.close();
    }
  });

  it('lab class export <class>: the class members only; it reads back unchanged', async () => {
    const csv = csvOf(await admin('class', 'export cs202'));
    expect(csv).toBe(
      'username,name,email,role,class,slack,discord\r\nalice,Alice Liddell,,student,cs202,U0ALICE1,123456789012345678\r\n',
    );
    expect(await importRoster({ store: school }, csv)).toMatchObject({ problems: [], changed: 0 });
    const refused = await slack(ids.teacher2, 'class', 'export cs101');
    expect(refused.error).toBe(true);
    expect(refused.text).toMatch(/may not export the roster of class cs101/);
  });

  it('lab usage <class> --csv: hours per student, and the import reads the file back', async () => {
    const csv = csvOf(await slack(ids.teacher, 'lab', 'usage cs101 --csv'));
    const [header, ...rows] = csv.trim().split('\r\n');
    expect(header).toBe(
      'username,name,email,role,class,hours_used,hours_left,running_vms,top_up_hours,hours_total,cost,currency',
    );
    expect(rows.map((r) => r.split(',')[0]).sort()).toEqual(['alice', 'bob']);
    expect(rows.find((r) => r.startsWith('alice,'))).toMatch(/^alice,alice,,student,cs101,0\.00,,0,0\.00,0\.00,,$/);
    expect(await importRoster({ store: services.store }, csv)).toMatchObject({ problems: [], changed: 0 });
  });
});

/** A directory answer set by the test (the LDAP reader itself is tested against a real slapd in the store package). */
class ScriptedDirectory implements DirectorySource {
  readonly description = 'ldaps://dc1.school.example';
  answer: DirectoryRead | Error = { people: [], skipped: [], nesting: 'walk' };
  reads = 0;
  async read(): Promise<DirectoryRead> {
    this.reads++;
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

describe('/directory sync and status', () => {
  const source = new ScriptedDirectory();
  const people = (n: number, group: string) =>
    Array.from({ length: n }, (_, i) => ({
      username: `d${String(i).padStart(2, '0')}`,
      displayName: `Pupil ${i}`,
      email: `d${i}@school.example`,
      groups: [group],
    }));

  beforeAll(() => {
    services.directory = new DirectoryService({
      store: services.store,
      clock: services.clock,
      source,
      mapping: new GroupMapping({ 'cs202-students': { class: 'cs202', role: 'student' } }),
    });
  });

  it('is for admins; a dry run lists the changes, the sync makes them, and status says so', async () => {
    expect((await slack(ids.teacher, 'directory', 'sync')).error).toBe(true);
    source.answer = { people: people(10, 'cs202-students'), skipped: [], nesting: 'walk' };
    const dry = ok(await cli('root', 'directory', 'sync --dry-run'));
    expect(dry.text).toMatch(/^Dry run: the directory sync would make 20 change\(s\) — 10 new people/);
    expect(dry.text).toContain('enrol d03 in cs202');
    expect(await services.store.classes.getPersonByUsername('d03')).toBeUndefined();
    ok(await cli('root', 'directory', 'sync'));
    expect((await services.store.classes.members('cs202')).length).toBe(10);
    const status = ok(await slack(ids.admin, 'directory', 'status'));
    expect(status.text).toMatch(
      /Last run: .* apply, ok — 10 new, 0 updated, 0 roles, 10 enrolled, 0 unenrolled from 10 entries/,
    );
  });

  it('stops before unenrolling more than 20 % of a class, and --confirm-unenrol goes ahead', async () => {
    source.answer = { people: people(7, 'cs202-students'), skipped: [], nesting: 'walk' };
    const stopped = await cli('root', 'directory', 'sync');
    expect(stopped.error).toBe(true);
    expect(stopped.text).toMatch(/would unenrol 3 of 10 students of cs202/);
    expect((await services.store.classes.members('cs202')).length).toBe(10);
    // The dry run lists them all the same, and says what a sync would need.
    const dry = ok(await cli('root', 'directory', 'sync --dry-run'));
    expect(dry.text).toContain('unenrol d09 from cs202');
    expect(dry.text).toMatch(/A sync would stop here: .*would unenrol 3 of 10 students of cs202/);
    expect(dry.text).toContain('run lab directory sync --confirm-unenrol to make them');
    expect((await services.store.classes.members('cs202')).length).toBe(10);
    ok(await cli('root', 'directory', 'sync --confirm-unenrol'));
    expect((await services.store.classes.members('cs202')).length).toBe(7);
    // Nobody is deleted: the unenrolled keep their lab account.
    expect(await services.store.classes.getPersonByUsername('d09')).toBeDefined();
  });

  it('refuses a second sync while another process holds the lease', async () => {
    await services.store.sync.acquireLease(DIRECTORY_LEASE, 'other-host:1', 60_000, services.clock.now());
    const busy = await cli('root', 'directory', 'sync');
    expect(busy.error).toBe(true);
    expect(busy.text).toMatch(/already running in other-host:1/);
    await services.store.sync.releaseLease(DIRECTORY_LEASE, 'other-host:1');
  });

  it('a directory outage on the schedule keeps the roster and shows in status', async () => {
    source.answer = new DirectoryConnectionError('ldaps://dc1.school.example', 'ECONNREFUSED');
    const before = await services.store.classes.members('cs202');
    const reads = source.reads;
    const scheduled = new DirectoryService({
      store: services.store,
      clock: services.clock,
      source,
      mapping: services.directory!.mapping,
      intervalMs: 60_000,
      checkIntervalMs: 60_000,
    });
    // The last sync applied just now, so nothing is due yet.
    scheduled.start();
    await scheduled.stop();
    expect(source.reads).toBe(reads);
    const due = new DirectoryService({
      store: services.store,
      clock: { now: () => services.clock.now() + 120_000, sleep: services.clock.sleep },
      source,
      mapping: services.directory!.mapping,
      intervalMs: 60_000,
    });
    due.start();
    await due.stop();
    expect(source.reads).toBe(reads + 1);
    expect(await services.store.classes.members('cs202')).toEqual(before);
    const status = ok(await cli('root', 'directory', 'status'));
    expect(status.text).toMatch(/failed; LAB_DIRECTORY_CONNECTION/);
    expect(status.text).toMatch(/1 failed or stopped since — the lab works on the last known roster/);
  });
});
