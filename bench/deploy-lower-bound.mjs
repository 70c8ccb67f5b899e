// The critical path the simulator's capacity model allows for class deployments, in model ms, for
// the plans' placement (derivation in bench/README.md). Shared by the `deploy` and `session` benches.
import { DefaultTimings, presets } from '@lab/pve-sim';

/**
 * Every storage lock instance serialises the allocations on it; every class's students wait for its
 * base template, and students on a node with a copy of the base (a replica) for that copy: its clone
 * beside the base (under the base node's lock), its migration (a full copy at the target storage's
 * throughput) and its conversion; full copies on one storage share its throughput.
 */
export function lowerBoundMs(presetName, plans) {
  const preset = presets[presetName];
  const t = { ...DefaultTimings, ...preset.timings };
  const throughputOf = (id) => preset.storages.find((s) => s.id === id).throughputMBps * 1024 * 1024;
  const holds = new Map(); // lock instance → seconds it must be held
  const copies = new Map(); // storage instance → { bytes, start, tail, throughput }: full copies that share it
  const add = (map, key, x) => map.set(key, (map.get(key) ?? 0) + x);
  const addCopy = (key, bytes, start, tail, throughput) => {
    const c = copies.get(key) ?? { bytes: 0, start: Infinity, tail: Infinity, throughput };
    copies.set(key, { ...c, bytes: c.bytes + bytes, start: Math.min(c.start, start), tail: Math.min(c.tail, tail) });
  };
  let classChain = 0;
  let replicaChain = 0;
  for (const plan of plans) {
    const template = preset.guests.find((g) => g.vmid === plan.source.vmid);
    const templateBytes = template.disks.scsi0.sizeGiB * 1024 ** 3;
    const ci = template.cloudinit ? t.allocateSeconds : 0; // every clone also copies the cloud-init drive: one more allocation
    const linked = t.linkedCloneSeconds + ci;
    const throughput = throughputOf(plan.storage.id);
    const key = (node) => (plan.storage.shared ? plan.storage.id : `${node}/${plan.storage.id}`);
    const baseReady = plan.base.action === 'create' ? linked + t.templateSeconds : 0;
    if (plan.base.action === 'create') add(holds, key(plan.base.node), linked);
    for (const vm of plan.vms.filter((v) => v.role === 'teacher' && v.action === 'create')) {
      add(holds, key(vm.node), t.allocateSeconds + ci);
      addCopy(key(vm.node), templateBytes, t.allocateSeconds, ci, throughput);
    }
    const students = new Map(); // storage instance → this class's student clones there
    for (const vm of plan.vms.filter((v) => v.role === 'student' && v.action === 'create')) {
      add(holds, key(vm.node), linked);
      add(students, key(vm.node), 1);
    }
    // Copies of the base (local storage): on lvm-thin a linked clone beside the base, migrated; else
    // a full clone beside the base (its copy shares the base node's storage), migrated.
    const linkedReplica = !plan.storage.shared && plan.storage.type === 'lvmthin';
    const replicaClone = linkedReplica ? linked : t.allocateSeconds + ci;
    const tails = [];
    for (const node of plan.replicateBaseTo) {
      add(holds, key(plan.base.node), replicaClone);
      if (!linkedReplica) addCopy(key(plan.base.node), templateBytes, baseReady + t.allocateSeconds, 0, throughput);
      const there = students.get(key(node)) ?? 0;
      const tail = templateBytes / throughput + t.templateSeconds + there * linked;
      addCopy(
        key(node),
        templateBytes,
        baseReady + replicaClone,
        t.templateSeconds + Math.min(1, there) * linked,
        throughput,
      );
      tails.push(tail);
      students.delete(key(node));
    }
    // The copies' clones queue at the base node's lock one after another; the best order sends the
    // copy with the longest way still to go (its migration and its students) first.
    tails.sort((a, b) => b - a);
    tails.forEach((tail, i) => {
      replicaChain = Math.max(replicaChain, baseReady + (i + 1) * replicaClone + tail);
    });
    classChain = Math.max(classChain, baseReady + Math.max(0, ...students.values()) * linked);
  }
  const copyChain = Math.max(0, ...[...copies.values()].map((c) => c.start + c.bytes / c.throughput + c.tail));
  const lockChain = Math.max(0, ...holds.values());
  return {
    ms: Math.max(classChain, replicaChain, lockChain, copyChain) * 1000,
    classChain,
    replicaChain,
    lockChain,
    copyChain,
  };
}

/** One line that says what the bound is made of. */
export const describeBound = (b) =>
  `lower bound ${(b.ms / 1000).toFixed(1)} s = max(a class's base + its students on its busiest storage with the base ${b.classChain.toFixed(1)} s, a copy of the base (clone, migration, conversion) + its students ${b.replicaChain.toFixed(1)} s, busiest storage lock ${b.lockChain.toFixed(1)} s, full copies sharing one storage ${b.copyChain.toFixed(1)} s)`;
