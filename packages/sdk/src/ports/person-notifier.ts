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
}

/** A notifier that tells no one (a process with no chat front end). */
export const silentNotifier: PersonNotifier = { notifyPerson: () => Promise.resolve(false) };
