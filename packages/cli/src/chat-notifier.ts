import { everyPlatformNotifier, type Logger, type PersonNotifier } from '@lab/proxmox-sdk';
import type { FrontEndRegistry, LabServices, StartedFrontEnd } from '@lab/commands';
import type { LabConfig } from './lab-config.js';

/**
 * The direct-message notifier of a `lab serve` process: each served front end's own, plus, for every
 * other registered front end, the one its settings make (`createNotifier`: Slack's and Discord's
 * from their bot tokens), so whichever process holds the scheduler's lease reaches every person on
 * the platforms they have. A front end without the credential to send (Discord's interactions
 * endpoint without a bot token) sends none.
 */
export async function chatNotifier(deps: {
  frontEnds: FrontEndRegistry;
  config: LabConfig;
  served: ReadonlyMap<string, StartedFrontEnd>;
  services: LabServices;
  logger: Logger;
}): Promise<PersonNotifier> {
  const { frontEnds, config, served, services, logger } = deps;
  const notifiers: PersonNotifier[] = [];
  for (const definition of frontEnds.list()) {
    const notifier = served.has(definition.id)
      ? served.get(definition.id)!.notifier
      : await definition.createNotifier?.({ config: config[definition.id], services, logger });
    if (notifier) notifiers.push(notifier);
  }
  return everyPlatformNotifier(notifiers);
}

/**
 * A notifier made on its first message: a one-shot `lab` command that tells someone (`people
 * approve` DMs the student) reaches them through the front ends' own credentials, while every other
 * command loads no bot. `lab serve` replaces it with {@link chatNotifier} over what it serves.
 */
export function lazyNotifier(make: () => Promise<PersonNotifier>): PersonNotifier {
  let made: Promise<PersonNotifier> | undefined;
  return {
    notifyPerson: async (person, text) => (await (made ??= make())).notifyPerson(person, text),
  };
}
