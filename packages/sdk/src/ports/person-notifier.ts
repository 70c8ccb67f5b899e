/** Someone the lab tells something in private. */
export interface NotifiedPerson {
  personId: number;
  username: string;
}

/**
 * Sends a person a direct message in chat (the Slack and Discord bots implement it through the
 * person's linked identity). Resolves to false when the person has no account there or the
 * message could not be delivered; never throws for that.
 */
export interface PersonNotifier {
  notifyPerson(person: NotifiedPerson, text: string): Promise<boolean>;
  /**
   * Whether the person has an account this notifier sends to, so a false `notifyPerson` means a
   * failed delivery (worth trying again) rather than no one to tell. Without it, the scheduler takes
   * any linked chat account as reachable.
   */
  reaches?(person: NotifiedPerson): Promise<boolean>;
}

/** A notifier that tells no one (a process with no chat front end). */
export const silentNotifier: PersonNotifier = {
  notifyPerson: () => Promise.resolve(false),
  reaches: () => Promise.resolve(false),
};
