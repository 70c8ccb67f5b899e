import type { RequestListener } from 'node:http';
import type { DeploymentSummary, PersonNotifier } from '@lab/proxmox-sdk';

/** A front end as `FrontEndServing.start` starts it for `lab serve`: what the process serves, uses and stops. */
export interface StartedFrontEnd {
  /** Serves the platform's HTTP requests; a transport that needs none (Socket Mode, Discord's gateway) answers 404. */
  requestListener: RequestListener;
  /**
   * The path prefixes it answers (`['/slack/']`), so several front ends can share one port; absent
   * when it answers every path (the Discord interactions endpoint), empty when it serves none.
   */
  paths?: readonly string[];
  /**
   * Sends people direct messages on this platform (class schedules' notices); absent when it cannot
   * (Discord's interactions endpoint without a bot token).
   */
  notifier?: PersonNotifier;
  /**
   * Finishes a deployment's progress message (its `notify` ref) with its outcome in the words of its
   * kind (`spec`: a reset, a publish, a class deployment; see `renderFinishedDeployment`), e.g. after
   * a take-over; false when this platform cannot.
   */
  finishDeployment(
    deployment: { notify?: Record<string, unknown> | null; spec?: unknown },
    summary: DeploymentSummary,
  ): Promise<boolean>;
  /** Disconnects from the platform (Socket Mode, the gateway); HTTP transports have nothing to do. */
  stop(): Promise<void>;
  /** Settles when every command started so far has finished. */
  idle(): Promise<void>;
  /** How many commands it has started and not yet finished (for the shutdown's drain warning). */
  running?(): number;
}
