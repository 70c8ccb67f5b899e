import { afterEach, describe, expect, it } from 'vitest';
import { type PveSim } from '@lab/pve-sim';
import { ClassPinError } from '../src/errors/index.js';
import { DeploymentEngine, TemplateCatalog, type DeploymentEvent, type ProxmoxClient } from '../src/index.js';
import type { ClassPlan } from '../src/deploy/plan-class.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor, expectSchemaValidRequests, fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sim?.close();
});

const STUDENTS = Array.from({ length: 30 }, (_, i) => `s${String(i).padStart(2, '0')}`);

/** Each node's count of the plan's student VMs. */
const studentsPerNode = (plan: ClassPlan): Map<string, number> => {
  const m = new Map<string, number>();
  for (const v of plan.vms.filter((x) => x.role === 'student' && x.action !== 'delete'))
    m.set(v.node, (m.get(v.node) ?? 0) + 1);
  return m;
};

/** Online nodes of the simulated cluster that have storage `id` (what the class may use when not pinned). */
const nodesWithStorage = (s: PveSim, id: string): string[] =>
  [...s.state.nodes.values()]
    .filter((n) => n.online && s.state.storageOn(n.name, id))
    .map((n) => n.name)
    .sort();

describe('placement spreads a class for the moment every student starts', () => {
  it('spreads 30 students over the school preset within 1.25× an even share, copying the base where needed, and says so', async () => {
    sim = await fastSim({ scenario: 'school', timeScale: 400, seed: 1 });
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    const plan = await lab.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu' });
    const usable = nodesWithStorage(sim, 'local-lvm');
    expect(plan.classNodes).toEqual(usable);
    const perNode = studentsPerNode(plan);
    const even = 30 / usable.length;
    expect(Math.max(...perNode.values()) / even).toBeLessThanOrEqual(1.25);
    // Without the spread all 30 would be on the base node: 5× an even share on five nodes.
    expect(perNode.get(plan.base.node)).toBeLessThan(30);
    expect(plan.replicateBaseTo.length).toBeGreaterThan(0);
    expect(new Set(plan.replicateBaseTo)).toEqual(new Set([...perNode.keys()].filter((n) => n !== plan.base.node)));
    expect(plan.notes).toContain(
      `base replicated to ${plan.replicateBaseTo.join(', ')} so the class's 30 VMs spread over ${perNode.size} nodes when they all run (at most ${Math.max(...perNode.values())} on a node)`,
    );

    const events: DeploymentEvent[] = [];
    const summary = await (await lab.engine.apply(plan, { onEvent: (e) => events.push(e) })).done;
    expect(summary).toMatchObject({ status: 'done', failed: [], orphans: [], unregistered: [] });
    expect(summary.created).toBe(2 + 30 + plan.replicateBaseTo.length);
    // Progress counts the base's copies: as many VMs announced as were registered.
    const planned = events.find((e) => e.type === 'planned');
    expect(planned).toMatchObject({ create: summary.created });
    expect(events.filter((e) => e.type === 'registered')).toHaveLength(summary.created);
    // On the cluster: every student where the plan put it, each a linked clone of the base copy on its node.
    const guests = [...sim.state.guests.values()];
    const bases = guests.filter((g) => g.config.name === 'cs101-base');
    expect(new Set(bases.map((g) => g.node))).toEqual(new Set([plan.base.node, ...plan.replicateBaseTo]));
    expect(bases.every((g) => g.config.template === '1')).toBe(true);
    const placed = new Map<string, number>();
    for (const g of guests.filter((x) => /^cs101-s\d+$/.test(x.config.name ?? ''))) {
      placed.set(g.node, (placed.get(g.node) ?? 0) + 1);
      const base = bases.find((b) => b.node === g.node)!;
      const volname = /^local-lvm:([^,]+)/.exec(g.config.scsi0 ?? '')?.[1] ?? '';
      expect(sim.state.storageOn(g.node, 'local-lvm')!.volumes.get(volname)?.thinOrigin, g.config.name).toBe(
        `base-${base.vmid}-disk-0`,
      );
    }
    expect(placed).toEqual(perNode);
    // lvm-thin: each copy began as a linked clone beside the base and moved, so no second full copy on the base node.
    const clones = sim.state.acceptedClones.filter((c) => c.name === 'cs101-base' && c.outcome === 'ok');
    expect(clones).toHaveLength(1 + plan.replicateBaseTo.length);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/migrate')).toBe(plan.replicateBaseTo.length);
    expectSchemaValidRequests(sim);
  });

  it('keeps an explicit pack strategy on the base node', async () => {
    sim = await fastSim({ scenario: 'school', timeScale: 400, seed: 1 });
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    const plan = await lab.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu', strategy: 'pack' });
    expect([...studentsPerNode(plan).keys()]).toEqual([plan.base.node]);
    expect(plan.replicateBaseTo).toEqual([]);
  });

  it('honours an admin pin: students only on the pinned nodes, spread evenly, made from a pinned copy of the template', async () => {
    sim = await fastSim({ scenario: 'school', timeScale: 400, seed: 1 });
    const lab = await labOver(sim, { students: STUDENTS.slice(0, 12) });
    api = lab.api;
    expect(await lab.engine.pinClass('cs101', ['pve3', 'pve2,pve3'], 'admin')).toEqual(['pve2', 'pve3']);
    expect((await lab.store.classes.getClass('cs101'))?.pinnedNodes).toEqual(['pve2', 'pve3']);
    expect((await lab.store.audit.list({ action: 'class.pin' }))[0]).toMatchObject({
      actor: 'admin',
      target: 'cs101',
      details: { nodes: ['pve2', 'pve3'] },
    });
    const plan = await lab.engine.plan({ classId: 'cs101', count: 12, template: 'ubuntu' });
    expect(plan.pinnedNodes).toEqual(['pve2', 'pve3']);
    expect(plan.classNodes).toEqual(['pve2', 'pve3']);
    // The template has a copy on pve2, so the class is made there, inside the pin.
    expect(plan.source.node).toBe('pve2');
    expect(plan.base.node).toBe('pve2');
    expect(studentsPerNode(plan)).toEqual(
      new Map([
        ['pve2', 7],
        ['pve3', 5],
      ]),
    );
    expect(plan.replicateBaseTo).toEqual(['pve3']);
    expect(plan.notes).toEqual([
      "base replicated to pve3 so the class's 12 VMs spread over 2 nodes when they all run (at most 7 on a node; pinned to pve2, pve3)",
    ]);
    const summary = await (await lab.engine.apply(plan)).done;
    expect(summary).toMatchObject({ status: 'done', created: 2 + 12 + 1, failed: [] });
    const nodes = [...sim.state.guests.values()]
      .filter((g) => /^cs101-/.test(g.config.name ?? '') && g.config.name !== 'cs101-base')
      .map((g) => g.node);
    expect(new Set(nodes)).toEqual(new Set(['pve2', 'pve3']));

    await lab.engine.pinClass('cs101', null, 'admin');
    expect((await lab.store.classes.getClass('cs101'))?.pinnedNodes).toBeNull();
  });

  it('refuses a pin to a node the cluster does not have, or one without the template storage, saying what to fix', async () => {
    sim = await fastSim({ scenario: 'small', timeScale: 400, seed: 1 });
    api = clientFor(sim);
    const store = createMemoryStore();
    const clusters = { get: () => api!, ids: () => ['lab'] };
    const catalog = new TemplateCatalog({ store, clusters });
    await catalog.create({
      name: 'legacy',
      memory: 1024,
      cores: 1,
      mappings: [{ clusterId: 'lab', node: 'pve3', vmid: 9003 }],
    });
    const tpl = await store.templates.getByName('legacy');
    await store.classes.createClass({ id: 'net1', name: 'Net', templateId: tpl!.id, ownerId: null }, 1);
    const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 25 });

    const unknown = await engine.pinClass('net1', ['pve3', 'pve9']).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ClassPinError);
    expect(unknown).toMatchObject({ code: 'LAB_CLASS_PIN_INVALID', data: { unknown: ['pve9'] } });
    expect((unknown as Error).message).toMatch(
      /^net1 is pinned to pve9, which the cluster does not have \(nodes: pve1, pve2, pve3\)/,
    );

    const noStorage = await engine.pinClass('net1', ['pve1', 'pve3']).catch((e: unknown) => e);
    expect(noStorage).toBeInstanceOf(ClassPinError);
    expect((noStorage as Error).message).toBe(
      "pve1 has no storage 'thick-lvm', which template 'legacy' of net1 is on; pin net1 to nodes that have it (pve3)",
    );
    expect((await store.classes.getClass('net1'))?.pinnedNodes).toBeNull();
    expect(await engine.pinClass('net1', ['pve3'])).toEqual(['pve3']);

    // A pin that a changed cluster no longer satisfies stops planning, naming it, before any clone.
    await store.classes.updateClass('net1', { pinnedNodes: ['pve3', 'pve7'] });
    await expect(engine.plan({ classId: 'net1', count: 1 })).rejects.toThrow(/net1 is pinned to pve7/);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(0);
  });
});
