import type { ZodType } from 'zod';
import type { DeploymentSummary, IdentityFormat, Logger, PersonNotifier } from '@lab/proxmox-sdk';
import type { LabServices, ProgressUpdate } from './command-plugin.js';
import type { CommandRouter } from './command-router.js';
import type { StartedFrontEnd } from './started-front-end.js';

/**
 * A deployment whose progress message a front end may finish: its `notify` ref (what the front end
 * stored when it started the command, with `platform` naming the front end) and its `spec`.
 */
export interface ProgressMessageOwner {
  notify?: Record<string, unknown> | null;
  spec?: unknown;
}

/** What every front-end operation gets: its own section of lab.config.json and the process's logger. */
export interface FrontEndSettings<Config> {
  /** This front end's section of lab.config.json, validated by its `configSchema`; undefined when absent. */
  config: Config | undefined;
  logger: Logger;
}

/** What {@link FrontEndServing.start} gets: the settings, the one command router and the shared services. */
export interface FrontEndStartContext<Config> extends FrontEndSettings<Config> {
  /** The only way a front end acts: every command goes through it (roles, validation, confirm, audit). */
  router: CommandRouter;
  /** The process's services (the store, the clock, the console grants); shared by every front end it serves. */
  services: LabServices;
  /** The whole validated lab.config.json, for settings several front ends share (e.g. `console.publicUrl`); read-only. */
  labConfig: Readonly<Record<string, unknown>>;
}

/** How `lab serve <id>` runs a front end. */
export interface FrontEndServing<Config> {
  /** The port it listens on when neither `--port` nor its section says one (Slack 3000, Discord 3001). */
  defaultPort: number;
  /** The port and address its section sets (`slack.port`, `slack.host`), if any. */
  address?(config: Config | undefined): { port?: number; host?: string };
  /**
   * Checks its section and starts it: connects to the platform if it must (Socket Mode, a gateway) and
   * returns what the process serves. A section that lacks what the front end needs is a `ConfigError`
   * naming the key.
   */
  start(context: FrontEndStartContext<Config>): Promise<StartedFrontEnd>;
}

/**
 * The contract every front end implements — Slack, Discord, the CLI, the web portal and any other
 * (Teams, Mattermost): one object, registered once in a {@link FrontEndRegistry}. Everything that
 * differs by platform lives behind it: `lab serve`, the direct messages of the class scheduler, the
 * take-over of a crashed process's deployments, the roster's account columns and the account links
 * all go through the registry. Declare one with {@link defineFrontEnd}.
 */
export interface FrontEndDefinition<Config = unknown> {
  /**
   * The platform id: `Caller.platform` of its commands, the store's identity platform, its section of
   * lab.config.json, its roster column and `lab serve <id>`. Lower-case letters, digits or dashes, 2–32
   * long (`IDENTITY_PLATFORM_ID`).
   */
  readonly id: string;
  /** Its name in sentences (`Slack`, `the web portal`). */
  readonly label: string;
  /** How its user ids are written, parsed and shown; `identity.platform` is `id`. */
  readonly identity: IdentityFormat;
  /** Its section of lab.config.json (zod); without one, lab.config.json may not have the section. */
  readonly configSchema?: ZodType<Config>;
  /** Its section with settings from the environment applied (`SLACK_BOT_TOKEN` over `slack.botToken`). */
  configFromEnvironment?(
    config: Config | undefined,
    env: Readonly<Record<string, string | undefined>>,
  ): Config | undefined;
  /** The secrets in its section (tokens, signing secrets), which logs must never show. */
  secrets?(config: Config | undefined): ReadonlyArray<string | undefined>;
  /** How `lab serve` runs it; absent for a front end that is no server (the CLI). */
  readonly serve?: FrontEndServing<Config>;
  /**
   * A direct-message notifier from its settings alone, for a process that does not serve it, so the
   * scheduler's lease holder reaches people on every platform; undefined when the section has no
   * credential to send with.
   */
  createNotifier?(context: FrontEndSettings<Config> & { services: LabServices }): Promise<PersonNotifier | undefined>;
  /**
   * Finishes the progress message of a deployment it started (`deployment.notify.platform` is `id`)
   * from its settings alone, with `text` (`renderFinishedDeployment`), when the process that finishes
   * the deployment does not serve it (a take-over). False when it cannot; never throws.
   */
  finishProgress?(
    context: FrontEndSettings<Config>,
    deployment: ProgressMessageOwner,
    summary: DeploymentSummary,
    text: string,
  ): Promise<boolean>;
  /** How it shows a progress update as text. @defaultValue `renderProgress` (a bar, clones under way, failures) */
  renderProgress?(update: ProgressUpdate): string;
}

/** Declares a front end with its section's type inferred from `configSchema`. */
export function defineFrontEnd<Config>(definition: FrontEndDefinition<Config>): FrontEndDefinition {
  return definition;
}
