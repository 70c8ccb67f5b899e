import type { NotifiedPerson, PersonNotifier } from '../ports/person-notifier.js';

/**
 * One notifier over several chat platforms: a message goes to the person's accounts on every
 * platform (delivered when any of them took it), and the person is reachable when any platform
 * reaches them. A `lab serve` process gives its scheduler one of these over every platform in
 * lab.config.json, so a Slack-only student is told even when the Discord process runs the schedule.
 */
export function everyPlatformNotifier(notifiers: readonly PersonNotifier[]): PersonNotifier {
  return {
    async notifyPerson(person: NotifiedPerson, text: string): Promise<boolean> {
      const results = await Promise.all(notifiers.map((n) => n.notifyPerson(person, text).catch(() => false)));
      return results.some(Boolean);
    },
    async reaches(person: NotifiedPerson): Promise<boolean> {
      for (const n of notifiers) if (!n.reaches || (await n.reaches(person))) return true;
      return false;
    },
  };
}
