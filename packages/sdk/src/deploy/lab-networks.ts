import type { ClassNetwork, ClassNetworkSpec, ClassNetworks } from '../network/class-networks.js';
import { SdnNotConfiguredError, SdnSpecError } from '../network/network-errors.js';
import type { Store } from '../store/store.js';
import type { ClassPlan } from './plan-class.js';

/** The class networks service of a cluster (`ClassNetworks`), or undefined when the installation has no `sdn` settings. */
export type ClassNetworksOf = (clusterId: string) => ClassNetworks | undefined;

/** The networks a class's deploy put its student VMs on (`DeploymentEngine.ensureLabNetworks`). */
export interface LabNetworks {
  classId: string;
  clusterId: string;
  mode: 'class' | 'student';
  /** The zone the VNets are in (the admin's, or the lab's own simple zone). */
  zone: string;
  internet: 'snat' | 'none';
  networks: ClassNetwork[];
  /** One line for a reply: `5 private networks (one per student) in zone labzone, no internet`. */
  summary: string;
}

/** What the networks of a lab definition are, in words, before or after they exist. */
export function describeLabNetworks(facts: {
  mode: 'class' | 'student';
  count: number;
  zone: string;
  internet: 'snat' | 'none';
  /** `student` mode: whether one of the `count` networks is the teacher VMs'. */
  teachers?: boolean;
}): string {
  const plural = `${facts.count} private network${facts.count === 1 ? '' : 's'}`;
  const what =
    facts.mode === 'class'
      ? `${plural} (one for the class, its teacher VMs included)`
      : facts.teachers
        ? `${plural} (one per seated student, one for the teacher VMs)`
        : `${plural} (one per student)`;
  return `${what} in zone ${facts.zone}, ${facts.internet === 'snat' ? 'with internet (SNAT)' : 'no internet'}`;
}

/**
 * Who the plans of one deploy (one per role) seat: the students with a VM kept or created in any
 * role, and how many planned student VMs have no student (seats beyond the roster).
 */
export interface LabSeats {
  students: string[];
  unassigned: number;
}

/** The seats of a deploy's plans, for {@link ensureLabNetworks}: the networks `student` mode builds. */
export function seatsOfPlans(plans: readonly ClassPlan[]): LabSeats {
  const students = new Set<string>();
  let unassigned = 0;
  for (const plan of plans) {
    const seats = plan.vms.filter((vm) => vm.role === 'student' && vm.action !== 'delete');
    for (const vm of seats) if (vm.owner) students.add(vm.owner);
    unassigned = Math.max(unassigned, seats.filter((vm) => !vm.owner).length);
  }
  return { students: [...students].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), unassigned };
}

/** The enrolled students' usernames, in code order (the networks `student` mode builds without seats). */
async function studentUsernames(store: Store, classId: string): Promise<string[]> {
  const members = (await store.classes.members(classId)).filter((m) => m.role === 'student');
  const people = await store.classes.getPeople(members.map((m) => m.personId));
  return people.map((p) => p.username).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The service and spec of a class's networks on a cluster; undefined for a class on its templates' bridge. */
async function networksOf(
  deps: { store: Store; networks?: ClassNetworksOf | undefined },
  classId: string,
  clusterId: string,
  seats?: LabSeats,
): Promise<{ service: ClassNetworks; spec: ClassNetworkSpec } | undefined> {
  const lab = await deps.store.labDefinitions.get(classId);
  if (!lab || lab.network.mode === 'bridge') return undefined;
  const mode = lab.network.mode;
  const service = deps.networks?.(clusterId);
  if (!service) throw new SdnNotConfiguredError({ classId, mode, clusterId });
  if (mode === 'student' && seats && seats.unassigned > 0)
    throw new SdnSpecError({
      classId,
      problem: `${seats.unassigned} seat(s) have no student, and with a network per student every VM needs its student's; deploy at most ${seats.students.length} seat(s) or enrol more students`,
    });
  return {
    service,
    spec: {
      classId,
      mode,
      students: mode === 'student' ? (seats?.students ?? (await studentUsernames(deps.store, classId))) : [],
      teachers: mode === 'student',
      zone: lab.network.zone ?? undefined,
      internet: lab.network.internet,
    },
  };
}

const labNetworksOf = (
  spec: ClassNetworkSpec,
  clusterId: string,
  zone: string,
  networks: ClassNetwork[],
): LabNetworks => ({
  classId: spec.classId,
  clusterId,
  mode: spec.mode,
  zone,
  internet: spec.internet,
  networks,
  summary: describeLabNetworks({
    mode: spec.mode,
    count: networks.length,
    zone,
    internet: spec.internet,
    teachers: networks.some((n) => n.teachers),
  }),
});

/**
 * What {@link ensureLabNetworks} would build, read from the store and PVE without changing either
 * (the networks not built yet have the ids and subnets they would get now).
 */
export async function planLabNetworks(
  deps: { store: Store; networks?: ClassNetworksOf | undefined },
  classId: string,
  clusterId: string,
  seats?: LabSeats,
): Promise<LabNetworks | undefined> {
  const found = await networksOf(deps, classId, clusterId, seats);
  if (!found) return undefined;
  const plan = await found.service.plan(found.spec);
  return labNetworksOf(found.spec, clusterId, plan.zone.id, plan.networks);
}

/**
 * Builds (or finds) the private networks a class's lab definition asks for on `clusterId`, before
 * its VMs are created, so the deploy's network step puts their `net0` on them: in `student` mode
 * one per student of `seats` (every enrolled student without it) and one for the teacher VMs; a
 * seat without a student is refused (`SdnSpecError`) before anything is made. A class without a
 * definition or with `bridge` → undefined (nothing to do). Private networks without `sdn` settings
 * → `SdnNotConfiguredError`.
 */
export async function ensureLabNetworks(
  deps: { store: Store; networks?: ClassNetworksOf | undefined },
  classId: string,
  clusterId: string,
  seats?: LabSeats,
): Promise<LabNetworks | undefined> {
  const found = await networksOf(deps, classId, clusterId, seats);
  if (!found) return undefined;
  const state = await found.service.ensure(found.spec);
  return labNetworksOf(found.spec, clusterId, state.networks[0]?.zone ?? found.spec.zone ?? '', state.networks);
}

/**
 * Removes a class's networks from every cluster that has some, once its VMs are gone
 * (`DeploymentEngine.destroyClass` calls it after the VMs). Returns the removed ids per cluster and
 * the clusters whose networks could not be removed because no `sdn` settings name them.
 */
export async function teardownLabNetworks(
  deps: { store: Store; networks?: ClassNetworksOf | undefined },
  classId: string,
  clusterIds: readonly string[],
): Promise<{ removed: string[]; left: string[] }> {
  const removed: string[] = [];
  const left: string[] = [];
  for (const clusterId of clusterIds) {
    if (!(await deps.store.sdn.list(clusterId, { classId })).length) continue;
    const service = deps.networks?.(clusterId);
    if (!service) {
      left.push(clusterId);
      continue;
    }
    removed.push(...(await service.teardown(classId)).removed);
  }
  return { removed, left };
}

/**
 * After a deploy of a `student`-mode class ended: removes the networks of students `seats` no
 * longer seats, each once the class has no VM of that student left (`ClassNetworks.removeStudents`;
 * a student who still has one keeps theirs until the next deploy). Nothing for other classes.
 */
export async function releaseLabNetworks(
  deps: { store: Store; networks?: ClassNetworksOf | undefined },
  classId: string,
  clusterId: string,
  seats: LabSeats,
): Promise<{ removed: string[]; kept: string[] }> {
  const lab = await deps.store.labDefinitions.get(classId);
  const service = deps.networks?.(clusterId);
  if (lab?.network.mode !== 'student' || !service) return { removed: [], kept: [] };
  const seated = new Set(seats.students);
  const gone = (await service.networks(classId))
    .filter((n) => n.student !== null && !seated.has(n.student) && n.state !== 'deleting')
    .map((n) => n.student!);
  if (gone.length === 0) return { removed: [], kept: [] };
  const { removed, kept } = await service.removeStudents(classId, gone);
  return { removed, kept };
}
