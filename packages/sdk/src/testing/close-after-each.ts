import { afterEach } from 'vitest';

/** Something a test opens and must close: a simulator, a client, a store. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * Closes what a test opened, newest first, after each test of the calling file:
 * `const { track } = closeAfterEach(); sim = track(await startPveSim())`.
 */
export function closeAfterEach(): { track: <T extends Closable>(thing: T) => T } {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  return {
    track: (thing) => {
      open.push(thing);
      return thing;
    },
  };
}
