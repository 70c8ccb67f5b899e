import type { SimGuest } from './types.js';

/** One password the guest agent set inside a guest (`set-user-password`). */
export interface SimGuestPassword {
  username: string;
  /** As sent: clear text, or a crypt() hash with `crypted`. */
  password: string;
  crypted: boolean;
  at: number;
}

const byGuest = new WeakMap<SimGuest, SimGuestPassword[]>();

/** The passwords set inside a guest through its agent, oldest first (the list is live). */
export function passwordsSetIn(guest: SimGuest): SimGuestPassword[] {
  let list = byGuest.get(guest);
  if (!list) {
    list = [];
    byGuest.set(guest, list);
  }
  return list;
}
