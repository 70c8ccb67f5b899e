import { studentCloudInit } from '../deploy/cloud-init.js';
import type { Clock } from '../ports/clock.js';
import type { PersonNotifier } from '../ports/person-notifier.js';
import type { EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';

/** How long a sent "ready" notice is remembered (longer than any VM stays up in a lab). */
const REMEMBER_MS = 30 * 24 * 60 * 60 * 1000;

/** One "your VM is ready" message sent. */
export interface ReadyNotice {
  clusterId: string;
  vmid: number;
  personId: number;
  delivered: boolean;
}

/**
 * Tells each student, by direct message, when their class VM has become reachable — running, with
 * an address and SSH or RDP answering, as the sync saw it — with the same instructions as
 * `/myvm connect`. Once per VM per running interval (the usage ledger's interval start is the key,
 * claimed in the store), so a restart, a second process or the next round never sends it twice.
 */
export async function sendReadyNotices(deps: { store: Store; notifier: PersonNotifier; clock: Clock }): Promise<ReadyNotice[]> {
  const { store, notifier } = deps;
  const now: EpochMs = deps.clock.now();
  const sent: ReadyNotice[] = [];
  for (const klass of await store.classes.listClasses()) {
    for (const a of (await store.classes.assignmentsOfClass(klass.id)).filter((x) => x.role === 'student' && x.personId !== null)) {
      const vm = await store.inventory.get(a.clusterId, a.vmid);
      if (!vm || vm.goneAt !== null || vm.status !== 'running' || !vm.ip || !(vm.sshAvailable || vm.rdpAvailable)) continue;
      const [interval] = (await store.usage.intervals([{ clusterId: a.clusterId, vmid: a.vmid }], now - REMEMBER_MS)).filter((i) => i.endedAt === null);
      // No open interval yet: the sync has not recorded this run; a later round will.
      if (!interval || !(await store.nonces.claim(`ready:${a.clusterId}:${a.vmid}:${interval.startedAt}`, now + REMEMBER_MS, now))) continue;
      const person = await store.classes.getPerson(a.personId!);
      if (!person) continue;
      const login = (await studentCloudInit(store, klass.id, person.id))?.ciuser ?? person.username;
      const how = vm.category === 'windows' ? `connect with Remote Desktop to ${vm.ip} (/myvm connect gives you the .rdp file)` : `connect with: ssh ${login}@${vm.ip}`;
      const delivered = await notifier.notifyPerson({ personId: person.id, username: person.username }, `${vm.name} is ready: ${how}`).catch(() => false);
      sent.push({ clusterId: a.clusterId, vmid: a.vmid, personId: person.id, delivered });
    }
  }
  return sent;
}
