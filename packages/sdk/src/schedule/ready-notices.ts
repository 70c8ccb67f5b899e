import { studentCloudInit } from '../deploy/cloud-init.js';
import type { Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PersonNotifier } from '../ports/person-notifier.js';
import type { EpochMs, VmInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { tellPerson } from './tell-person.js';

/** How long a sent "ready" notice is remembered (longer than any VM stays up in a lab). */
const REMEMBER_MS = 30 * 24 * 60 * 60 * 1000;

/** One "your VM is ready" message sent. */
export interface ReadyNotice {
  classId: string;
  clusterId: string;
  vmid: number;
  personId: number;
  /** False when it did not get through (tried again next round) or the person has no chat account to tell. */
  delivered: boolean;
}

const reachable = (vm: VmInventoryRecord): boolean =>
  vm.status === 'running' &&
  vm.goneAt === null &&
  vm.ip !== null &&
  vm.ip !== '' &&
  (vm.sshAvailable || vm.rdpAvailable);

/**
 * Tells each student, by direct message, when their class VM has become reachable — running, with
 * an address and SSH or RDP answering, as the sync saw it — with the same instructions as
 * `/myvm connect`. Once per VM per running interval (the usage ledger's interval start is the key,
 * claimed in the store), so a restart, a second process or the next round never sends it twice. A
 * message that does not get through gives its claim back, so the next round (of any process) tries
 * again; a student with no chat account to tell is not tried again.
 *
 * Per class it reads the running VMs in one inventory list, and their assignments and open
 * intervals only when one is reachable. `claimed` (kept by the caller from round to round) holds the
 * keys already claimed, by this process or another, of VMs still reachable: those are not claimed
 * again, so a steady round writes nothing.
 */
export async function sendReadyNotices(deps: {
  store: Store;
  notifier: PersonNotifier;
  clock: Clock;
  claimed?: Set<string>;
  logger?: Logger;
}): Promise<ReadyNotice[]> {
  const { store, notifier } = deps;
  const logger = deps.logger ?? silentLogger;
  const now: EpochMs = deps.clock.now();
  const claimed = deps.claimed ?? new Set<string>();
  const current = new Set<string>();
  const sent: ReadyNotice[] = [];
  for (const klass of await store.classes.listClasses()) {
    const running = (await store.inventory.list({ classIds: [klass.id], status: 'running' })).filter(reachable);
    if (running.length === 0) continue;
    const rows = new Map(running.map((r) => [`${r.clusterId}/${r.vmid}`, r]));
    const students = (await store.classes.assignmentsOfClass(klass.id)).filter(
      (a) => a.role === 'student' && a.personId !== null && rows.has(`${a.clusterId}/${a.vmid}`),
    );
    if (students.length === 0) continue;
    const open = new Map(
      (await store.usage.intervals(students, now))
        .filter((i) => i.endedAt === null)
        .map((i) => [`${i.clusterId}/${i.vmid}`, i.startedAt]),
    );
    for (const a of students) {
      const startedAt = open.get(`${a.clusterId}/${a.vmid}`);
      // No open interval yet: the sync has not recorded this run; a later round will.
      if (startedAt === undefined) continue;
      const key = `ready:${a.clusterId}:${a.vmid}:${startedAt}`;
      current.add(key);
      if (claimed.has(key)) continue;
      const won = await store.nonces.claim(key, now + REMEMBER_MS, now);
      claimed.add(key);
      if (!won) continue;
      const person = await store.classes.getPerson(a.personId!);
      if (!person) continue;
      const vm = rows.get(`${a.clusterId}/${a.vmid}`)!;
      const login = (await studentCloudInit(store, klass.id, person.id))?.ciuser ?? person.username;
      const how =
        vm.category === 'windows'
          ? `connect with Remote Desktop to ${vm.ip} (/myvm connect gives you the .rdp file)`
          : `connect with: ssh ${login}@${vm.ip}`;
      const told = await tellPerson(store, notifier, person.id, `${vm.name} is ready: ${how}`);
      const facts = { classId: klass.id, clusterId: a.clusterId, vmid: a.vmid, username: person.username };
      if (told === 'failed') {
        await store.nonces.take(key, now);
        claimed.delete(key);
        logger.warn('ready notice not delivered; trying again next round', facts);
      } else if (told === 'unreachable') logger.info('ready notice not sent: the student has no chat account', facts);
      sent.push({
        classId: klass.id,
        clusterId: a.clusterId,
        vmid: a.vmid,
        personId: person.id,
        delivered: told === 'delivered',
      });
    }
  }
  // Forget the keys of VMs no longer reachable in this run: their next run has a new key.
  for (const key of claimed) if (!current.has(key)) claimed.delete(key);
  return sent;
}
