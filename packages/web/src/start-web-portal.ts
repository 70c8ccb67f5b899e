import type { StartedFrontEnd } from '@lab/commands';
import { createWebPortal, type WebPortal, type WebPortalOptions } from './web-portal.js';

/** The portal as `lab serve web` runs it: a front end whose requests the process's HTTP server hands over. */
export interface StartedWebPortal extends StartedFrontEnd {
  portal: WebPortal;
}

/**
 * Starts the web portal as a front end of `lab serve`: its request listener serves the pages; it
 * has no direct-message notifier (a browser is not reachable between visits).
 */
export async function startWebPortal(options: WebPortalOptions): Promise<StartedWebPortal> {
  const portal = await createWebPortal(options);
  return {
    portal,
    requestListener: portal.requestListener,
    finishDeployment: () => Promise.resolve(false),
    stop: () => portal.close(),
    idle: () => portal.idle(),
    running: () => portal.running(),
  };
}
