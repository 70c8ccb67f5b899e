import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { ClusterResourceEntry } from '../pve/pve-schemas.js';
import type { ClassRecord, PersonRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ClassSpec } from './class-spec.js';
import { baseVmName, seatVmName, studentVmName, teacherVmName } from '../templates/class-vm-names.js';
import type { ClassGuests } from './plan-class-guests.js';
import type { PlannedVm } from './plan-class.js';
import type { NamedGuest, VmNamer } from './vm-namer.js';

/** What choosing the class's VMs works from: the class's guests, the people, and the namer of new VMs. */
export interface SeatContext {
  spec: ClassSpec;
  store: Store;
  api: PveApi;
  guests: ClassGuests;
  names: VmNamer;
  people: Map<number, PersonRecord>;
}

/** A student VM still to clone, before placement. */
export interface NewStudentVm {
  name: string;
  personId: number | null;
  owner: string | null;
}

/** Locale-independent order, so a plan is the same on every machine. */
const codeOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const usernameOf = (ctx: SeatContext, personId: number | null | undefined): string | null =>
  personId ? (ctx.people.get(personId)?.username ?? null) : null;

/** The teacher VM: kept when the class has one (a second one is deleted), else created on the source node. */
export async function planTeacherVms(ctx: SeatContext, klass: ClassRecord, sourceNode: string): Promise<PlannedVm[]> {
  const { spec, guests } = ctx;
  const { assignments } = guests;
  const [teacher, ...extraTeachers] = guests.owned.filter((g) => guests.roleOf(g) === 'teacher');
  const owner = usernameOf(ctx, klass.ownerId);
  const vms: PlannedVm[] = [
    teacher
      ? {
          name: teacher.name ?? teacherVmName(spec.classId, spec.labRole?.name),
          role: 'teacher',
          action: 'keep',
          personId: assignments.get(teacher.vmid!)?.personId ?? klass.ownerId,
          owner,
          node: teacher.node!,
          vmid: teacher.vmid!,
        }
      : {
          name: await ctx.names.claim(teacherVmName(spec.classId, spec.labRole?.name)),
          role: 'teacher',
          action: 'create',
          personId: klass.ownerId,
          owner,
          node: sourceNode,
          vmid: null,
        },
  ];
  for (const t of extraTeachers)
    vms.push({
      name: t.name ?? `VM ${t.vmid}`,
      role: 'teacher',
      action: 'delete',
      personId: assignments.get(t.vmid!)?.personId ?? null,
      owner: usernameOf(ctx, assignments.get(t.vmid!)?.personId),
      node: t.node!,
      vmid: t.vmid!,
    });
  return vms;
}

/** Whether any of `guests` has a disk that is a linked clone of template `vmid` (`…base-<vmid>-disk-N/…`). */
async function usedByLinkedClone(api: PveApi, vmid: number, guests: readonly NamedGuest[]): Promise<boolean> {
  for (const g of guests) {
    if (g.vmid === undefined || !g.node) continue;
    const config = await pveResources(api)
      .qemu(g.node, g.vmid)
      .config()
      .catch(() => undefined);
    if (Object.values(config ?? {}).some((v) => typeof v === 'string' && v.includes(`base-${vmid}-disk-`))) return true;
  }
  return false;
}

/**
 * A second base template of one name on one node (left by an old double run) is deleted when no
 * linked clone uses its disks; one that is in use stays and is reported as a duplicate.
 */
export async function planDuplicateBaseDeletes(ctx: SeatContext): Promise<PlannedVm[]> {
  const { guests } = ctx;
  const deletes: PlannedVm[] = [];
  const seen = new Set<string>();
  for (const b of [...guests.bases].sort((x, y) => x.vmid! - y.vmid!)) {
    const key = `${b.name}@${b.node}`;
    if (!seen.has(key)) {
      seen.add(key);
      continue;
    }
    const clonesOnNode = guests.owned.filter((g) => g.node === b.node && Number(g.template) !== 1);
    if (!(await usedByLinkedClone(ctx.api, b.vmid!, clonesOnNode)))
      deletes.push({
        name: b.name ?? baseVmName(ctx.spec.classId, ctx.spec.labRole?.name),
        role: 'base',
        action: 'delete',
        personId: null,
        owner: null,
        node: b.node!,
        vmid: b.vmid!,
      });
  }
  return deletes;
}

/** The students' seats: VMs kept or deleted, new VMs (named, not placed yet) and who gets no seat. */
export interface StudentSeats {
  kept: PlannedVm[];
  deleted: PlannedVm[];
  toCreate: NewStudentVm[];
  unseated: string[];
}

/**
 * Seats: students who have a VM keep it; the other seats go to enrolled students by username;
 * seats beyond the roster are unassigned (`<class>-seat-NN`). `plannedSoFar` numbers the seats
 * of kept unassigned VMs that have no name, as before.
 */
export async function planStudentSeats(ctx: SeatContext, plannedSoFar: number): Promise<StudentSeats> {
  const { spec, guests, names } = ctx;
  const { assignments } = guests;
  const members = (await ctx.store.classes.members(spec.classId)).filter((m) => m.role === 'student');
  const roster = members
    .map((m) => ctx.people.get(m.personId))
    .filter((p) => p !== undefined)
    .sort((a, b) => codeOrder(a.username, b.username));
  const studentVms = guests.owned.filter((g) => guests.roleOf(g) === 'student' && Number(g.template) !== 1);
  const vmOf = new Map<number, ClusterResourceEntry>();
  for (const g of studentVms) {
    const personId = assignments.get(g.vmid!)?.personId;
    if (personId && !vmOf.has(personId)) vmOf.set(personId, g);
  }
  for (const g of studentVms) {
    if (assignments.get(g.vmid!)?.personId) continue;
    const person = roster.find(
      (p) => !vmOf.has(p.id) && g.name === studentVmName(spec.classId, p.username, spec.labRole?.name),
    );
    if (person) vmOf.set(person.id, g);
  }
  const seated = [...roster.filter((p) => vmOf.has(p.id)), ...roster.filter((p) => !vmOf.has(p.id))]
    .slice(0, spec.count)
    .sort((a, b) => codeOrder(a.username, b.username));
  const seatedIds = new Set(seated.map((p) => p.id));
  const unseated = roster.filter((p) => !seatedIds.has(p.id)).map((p) => p.username);
  const keptGuests = new Set<ClusterResourceEntry>();
  const kept: PlannedVm[] = [];
  for (const p of seated) {
    const g = vmOf.get(p.id);
    if (!g) continue;
    keptGuests.add(g);
    kept.push({
      name: g.name ?? studentVmName(spec.classId, p.username, spec.labRole?.name),
      role: 'student',
      action: 'keep',
      personId: p.id,
      owner: p.username,
      node: g.node!,
      vmid: g.vmid!,
    });
  }
  const freeSeats = spec.count - seated.length;
  const seatVms = studentVms
    .filter((g) => !keptGuests.has(g) && !assignments.get(g.vmid!)?.personId && ![...vmOf.values()].includes(g))
    .sort((a, b) => codeOrder(a.name ?? '', b.name ?? '') || a.vmid! - b.vmid!);
  for (const g of seatVms.slice(0, Math.max(0, freeSeats))) {
    keptGuests.add(g);
    kept.push({
      name: g.name ?? seatVmName(spec.classId, plannedSoFar + kept.length, spec.labRole?.name),
      role: 'student',
      action: 'keep',
      personId: null,
      owner: null,
      node: g.node!,
      vmid: g.vmid!,
    });
  }
  // Deletes are listed by name (then VMID), so a confirmation reads the same however clones raced.
  const deleted = studentVms
    .filter((x) => !keptGuests.has(x))
    .sort((a, b) => codeOrder(a.name ?? '', b.name ?? '') || a.vmid! - b.vmid!)
    .map((g): PlannedVm => {
      const personId = assignments.get(g.vmid!)?.personId ?? null;
      return {
        name: g.name ?? `VM ${g.vmid}`,
        role: 'student',
        action: 'delete',
        personId,
        owner: usernameOf(ctx, personId),
        node: g.node!,
        vmid: g.vmid!,
      };
    });
  const toCreate: NewStudentVm[] = [];
  for (const p of seated.filter((x) => !vmOf.has(x.id)))
    toCreate.push({
      name: await names.claim(studentVmName(spec.classId, p.username, spec.labRole?.name), p.username),
      personId: p.id,
      owner: p.username,
    });
  for (
    let seat = 1, open = Math.max(0, freeSeats - Math.min(seatVms.length, Math.max(0, freeSeats)));
    open > 0;
    seat++
  ) {
    const name = seatVmName(spec.classId, seat, spec.labRole?.name);
    if (names.isTaken(name)) continue;
    toCreate.push({ name: await names.claim(name), personId: null, owner: null });
    open--;
  }
  return { kept, deleted, toCreate, unseated };
}
