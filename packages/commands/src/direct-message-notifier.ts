import { silentLogger, type Logger, type PersonNotifier, type Store } from '@lab/proxmox-sdk';

/** How a chat front end reaches one account by direct message. */
export interface DirectMessageNotifierOptions {
  /** The platform whose linked accounts are messaged (`slack`, `discord`). */
  platform: string;
  /** The platform's name in log lines (`Slack`). */
  platformName: string;
  store: Store;
  logger?: Logger | undefined;
  /** Sends `text` to the account `externalId` as a direct message; throws when the platform refuses. */
  sendDirectMessage(externalId: string, text: string): Promise<void>;
}

/**
 * A `PersonNotifier` over a chat platform: every account the person linked on `platform` gets a
 * direct message. False when they have no account there or every send was refused; a refusal is
 * logged, never thrown.
 */
export function directMessageNotifier(options: DirectMessageNotifierOptions): PersonNotifier {
  const logger = options.logger ?? silentLogger;
  const accountsOf = async (personId: number) =>
    (await options.store.classes.identitiesOf(personId)).filter((i) => i.platform === options.platform);
  return {
    async reaches(person) {
      return (await accountsOf(person.personId)).length > 0;
    },
    async notifyPerson(person, text) {
      let delivered = false;
      for (const account of await accountsOf(person.personId)) {
        try {
          await options.sendDirectMessage(account.externalId, text);
          delivered = true;
        } catch (error) {
          logger.warn(`could not send a ${options.platformName} direct message`, { username: person.username, error });
        }
      }
      return delivered;
    },
  };
}
