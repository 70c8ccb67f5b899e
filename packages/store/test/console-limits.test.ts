import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConsoleBusyError, ConsoleRateLimitedError } from '@lab/proxmox-sdk/errors';
import { ConsoleGrants, systemClock, type Store } from '@lab/proxmox-sdk';
import { ConsoleSessionLimits, DefaultConsoleLimits, type HeldConsoleSlots } from '@lab/proxmox-sdk/store';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';

const fixtures = resolve(import.meta.dirname, 'fixtures');
const { engines, sharedUrl } = await sharedStores('console limits');

const vm = (vmid: number, node = 'pve1') => ({ clusterId: 'lab', vmid, node });
const limitOf = (e: unknown) => (e as ConsoleBusyError).data.limit;

describe.each(engines)('console caps shared by two processes on %s', (engine) => {
  it('cap sessions per person, per VM and per node across processes, and free a place when a session ends', async () => {
    const url = await sharedUrl(engine);
    const [a, b] = [await openStore(url), await openStore(url)];
    try {
      const caps = { perPerson: 3, perVm: 2, perNode: 4 };
      const [one, two] = [a, b].map((store) => new ConsoleSessionLimits({ store, clock: systemClock, limits: caps }));
      const first = await one!.take(1, vm(300));
      await two!.take(1, vm(300));
      const third = await one!.take(1, vm(300)).catch((e: unknown) => e);
      expect(third).toBeInstanceOf(ConsoleBusyError);
      expect(limitOf(third)).toBe('vm');
      expect((third as Error).message).toMatch(/^VM 300 has 2 consoles open already/);
      await two!.take(1, vm(301));
      const fourth = await one!.take(1, vm(302)).catch((e: unknown) => e);
      expect(limitOf(fourth)).toBe('person');
      await expect(one!.check(1, vm(303))).rejects.toBeInstanceOf(ConsoleBusyError);
      await two!.take(2, vm(310));
      const full = await one!.take(3, vm(311)).catch((e: unknown) => e);
      expect(limitOf(full)).toBe('node');
      expect((full as Error).message).toMatch(/^Node pve1 has 4 consoles open/);
      // Another node has its own budget; a session that ends frees its places at once.
      await one!.take(3, vm(400, 'pve2'));
      await first.release();
      await two!.take(3, vm(311));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('let exactly the node budget through when 12 sessions start at once from two processes', async () => {
    const url = await sharedUrl(engine);
    const [a, b] = [await openStore(url), await openStore(url)];
    try {
      const caps = { perPerson: 5, perVm: 5, perNode: 5 };
      const limits = [a, b].map((store) => new ConsoleSessionLimits({ store, clock: systemClock, limits: caps }));
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => limits[i % 2]!.take(100 + i, vm(500 + i, 'pve3'))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
      expect(await a.sync.liveLeases('console-node:lab/pve3:', Date.now())).toHaveLength(5);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuse the 11th console link of a person within a minute, saying why', async () => {
    const url = await sharedUrl(engine);
    const store: Store = await openStore(url);
    try {
      const now = Date.now();
      const person = await store.classes.createPerson(
        { username: 'alice', displayName: 'Alice', role: 'student' },
        now,
      );
      await store.inventory.upsertMany([
        {
          clusterId: 'lab',
          vmid: 300,
          name: 'cs101-alice',
          node: 'pve1',
          status: 'running',
          ip: null,
          type: 'qemu',
          category: 'linux',
          memory: 1024,
          cores: 1,
          diskSize: null,
          uptime: 0,
          cpuUsage: 0,
          memoryUsage: 0,
          isTemplate: false,
          tags: '',
          rdpAvailable: false,
          sshAvailable: false,
          lastUpdated: now,
          lastStatusCheck: null,
          syncError: null,
          goneAt: null,
        },
      ]);
      await store.classes.assignVm(
        { clusterId: 'lab', vmid: 300, personId: person.id, classId: null, role: 'student' },
        now,
      );
      const grants = new ConsoleGrants({ store });
      const requester = {
        viewer: { personId: person.id, username: 'alice', role: 'student' as const },
        platform: 'slack',
        platformUserId: 'UALICE',
      };
      const links = await Promise.allSettled(
        Array.from({ length: 11 }, () => grants.issue(requester, { clusterId: 'lab', vmid: 300 })),
      );
      const refused = links.filter((l): l is PromiseRejectedResult => l.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect(refused[0]!.reason).toBeInstanceOf(ConsoleRateLimitedError);
      expect((refused[0]!.reason as Error).message).toBe(
        'You asked for 10 console links in the last minute, as many as the lab allows; wait a minute and ask again.',
      );
    } finally {
      await store.close();
    }
  });

  it('free the places of a SIGKILLed process once its heartbeat expires', async () => {
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    try {
      const child = spawn(
        process.execPath,
        [join(fixtures, 'console-slot-holder.mjs'), url, '7', 'lab', '700', 'pve9', '400'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      await new Promise<void>((ok, fail) => {
        child.stdout.on('data', (c: Buffer) => String(c).includes('"held":true') && ok());
        child.on('exit', (code) => fail(new Error(`holder exited (${code}): ${stderr}`)));
      });
      const limits = new ConsoleSessionLimits({
        store,
        clock: systemClock,
        limits: { perPerson: 1, perVm: 1, perNode: 1 },
        leaseTtlMs: 400,
      });
      // Alive, it beats: a place stays taken well past its time to live.
      await new Promise((r) => setTimeout(r, 1_200));
      expect(limitOf(await limits.take(8, vm(701, 'pve9')).catch((e: unknown) => e))).toBe('node');
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
      let held: HeldConsoleSlots | undefined;
      for (let i = 0; i < 100 && !held; i++) {
        held = await limits.take(8, vm(701, 'pve9')).catch(() => undefined);
        if (!held) await new Promise((r) => setTimeout(r, 100));
      }
      if (!held) throw new Error('the dead process kept its console place');
      await held.release();
    } finally {
      await store.close();
    }
  });
});

describe('the console caps by default', () => {
  it('keep a node well below the 100 VNC ports PVE has, and cap people, VMs and links', () => {
    expect(DefaultConsoleLimits.perNode).toBeLessThanOrEqual(50);
    expect(DefaultConsoleLimits).toMatchObject({ perPerson: 3, perVm: 2, linksPerMinute: 10 });
  });
});
