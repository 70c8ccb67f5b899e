import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classGrid, type ClassGrid, type Store } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';
import * as commands from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const lab = useLab(commands, { deploy: 'cs101 2' });
const dir = mkdtempSync(join(tmpdir(), 'lab-grid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const grid = async (userId: string, klass: string) =>
  lab().router.invoke({ platform: 'slack', userId, command: 'lab', text: `grid ${klass}` });

describe('/lab grid', () => {
  it('shows the teacher every student of the class with their VM, and who stopped it and why', async () => {
    const { router, services } = lab();
    for (const [userId, text] of [
      [ids.bob, 'start'],
      [ids.alice, 'stop'],
    ] as const) {
      const reply = await router.invoke({ platform: 'slack', userId, command: 'myvm', text });
      expect(reply.error, reply.text).toBeFalsy();
    }
    const reply = await grid(ids.teacher, 'cs101');
    expect(reply.error, reply.text).toBeFalsy();
    expect(reply.text).toMatch(/^cs101: 2 student\(s\), 2 VM\(s\), 1 running, \d ready, 0 idle\.$/);
    const data = reply.data as ClassGrid;
    expect(data.rows.map((r) => [r.username, r.vm?.status])).toEqual([
      ['alice', 'stopped'],
      ['bob', 'running'],
    ]);
    expect(data.rows[0]!.lastAction).toMatchObject({ action: 'vm.stop', actor: 'alice', cause: 'student' });
    expect(data.rows[1]!.lastAction).toMatchObject({ action: 'vm.start', actor: 'bob', cause: 'student' });
    expect(data.rows[1]!.weekMs).toBeGreaterThanOrEqual(0);
    expect(data.timezone).toBe('UTC');
    expect(services.store).toBeDefined();
  });

  it('refuses a teacher of another class and a student, and audits both', async () => {
    const other = await grid(ids.teacher2, 'cs101');
    expect(other).toMatchObject({ error: true, text: expect.stringMatching(/you teach cs202/) });
    const student = await grid(ids.alice, 'cs101');
    expect(student).toMatchObject({ error: true, text: expect.stringMatching(/is for teachers and admins/) });
    const denied = await lab().services.store.audit.list({ action: 'command.lab.grid' });
    expect(
      denied
        .filter((a) => a.outcome === 'denied')
        .map((a) => a.actor)
        .sort(),
    ).toEqual(['alice', 'hopper']);
  });
});

/** Counts the repository calls made through a store. */
function counting(store: Store): { store: Store; calls: () => number } {
  let calls = 0;
  const wrap = <T extends object>(repo: T): T =>
    new Proxy(repo, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function'
          ? (...args: unknown[]) => {
              calls++;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            }
          : value;
      },
    });
  const wrapped = Object.fromEntries(
    Object.entries(store).map(([k, v]) => [k, typeof v === 'object' && v !== null ? wrap(v as object) : v]),
  ) as unknown as Store;
  return {
    store: { ...wrapped, transaction: store.transaction.bind(store), close: store.close.bind(store) },
    calls: () => calls,
  };
}

async function seedClass(store: Store, klass: string, students: number): Promise<void> {
  const t0 = 1_800_000_000_000;
  await store.classes.createClass({ id: klass, name: klass, templateId: null, ownerId: null }, t0);
  const rows = [];
  for (let i = 0; i < students; i++) {
    const p = await store.classes.createPerson(
      { username: `${klass}-s${i}`, displayName: `S${i}`, role: 'student' },
      t0,
    );
    await store.classes.addMember({ classId: klass, personId: p.id, role: 'student' });
    const vmid = (klass === 'big' ? 5000 : 4000) + i;
    await store.classes.assignVm({ clusterId: 'lab', vmid, personId: p.id, classId: klass, role: 'student' }, t0);
    rows.push(vmid);
    await store.usage.openInterval('lab', vmid, t0);
    await store.usage.saveIdle({ clusterId: 'lab', vmid, idleSince: t0, warnedAt: null, keptAt: null, keepsUsed: 0 });
    await store.audit.record({
      at: t0,
      actor: 'scheduler',
      action: 'vm.start',
      target: `lab/${vmid}`,
      outcome: 'ok',
      details: {},
    });
  }
}

describe('the class grid reads the store a fixed number of times', () => {
  it('makes as many store calls for 30 students as for 3, on SQLite', async () => {
    const raw = await openStore(`sqlite:${join(dir, 'grid.db')}`);
    await seedClass(raw, 'small', 3);
    await seedClass(raw, 'big', 30);
    const small = counting(raw);
    const a = await classGrid(small.store, 'small', 1_800_000_600_000);
    const big = counting(raw);
    const b = await classGrid(big.store, 'big', 1_800_000_600_000);
    expect(a?.rows).toHaveLength(3);
    expect(b?.rows).toHaveLength(30);
    expect(b?.rows[0]).toMatchObject({ idleSince: null, lastAction: { cause: 'schedule', action: 'vm.start' } });
    expect(small.calls()).toBeGreaterThan(0);
    expect(big.calls()).toBe(small.calls());
    await raw.close();
  });
});

describe('/lab power', () => {
  const power = (userId: string, text: string) =>
    lab().router.invoke({ platform: 'slack', userId, command: 'lab', text: `power ${text}` });

  it("lets the class's teacher stop and start a selection of students' VMs, audited as the teacher", async () => {
    const stopped = await power(ids.teacher, 'stop cs101 alice bob');
    expect(stopped.error, stopped.text).toBeFalsy();
    expect(stopped.text).toMatch(/^alice: VM \d+ is stopped\.\nbob: VM \d+ is stopped\.$/);
    const started = await power(ids.teacher, 'start cs101 bob');
    expect(started.text).toMatch(/^bob: VM \d+ is running\.$/);
    const grid = (
      await lab().router.invoke({ platform: 'slack', userId: ids.teacher, command: 'lab', text: 'grid cs101' })
    ).data as ClassGrid;
    expect(grid.rows.map((r) => [r.username, r.vm?.status, r.lastAction?.cause])).toEqual([
      ['alice', 'stopped', 'teacher'],
      ['bob', 'running', 'teacher'],
    ]);
    const [entry] = await lab().services.store.audit.list({ action: 'vm.start', actor: 'lovelace', limit: 1 });
    expect(entry?.outcome).toBe('ok');
  });

  it('refuses a teacher of another class and a student, and names students without a VM', async () => {
    expect(await power(ids.teacher2, 'stop cs101 --all')).toMatchObject({
      error: true,
      text: expect.stringMatching(/you teach cs202/),
    });
    expect(await power(ids.alice, 'stop cs101 bob')).toMatchObject({
      error: true,
      text: expect.stringMatching(/for teachers/),
    });
    const partly = await power(ids.teacher, 'stop cs101 bob nobody');
    expect(partly.text).toMatch(/\nNo VM of cs101 for nobody\.$/);
  });
});
