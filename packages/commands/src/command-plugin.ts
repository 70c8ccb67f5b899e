import type { ZodObject, ZodType } from 'zod';
import type { ClassNetworksOf } from '@lab/proxmox-sdk/network';
import type {
  ClassScheduler,
  Clock,
  CostRates,
  ClusterApis,
  ConsoleGrants,
  DeploymentEngine,
  DirectoryService,
  DeploymentEvent,
  IdentityFormat,
  IdentityPlatform,
  InventoryService,
  Logger,
  PersonNotifier,
  PersonRecord,
  Store,
  SyncEngine,
  TemplateCatalog,
  TemplateScanSchedule,
  Viewer,
  VmPower,
  VmSnapshots,
  GuestPasswords,
} from '@lab/proxmox-sdk';

/**
 * Where a command came from: a registered front end's id (`slack`, `discord`, `cli`, `web`, …), the
 * platform its caller's identity is stored under.
 */
export type Platform = IdentityPlatform;

/** Who may run a subcommand: `student` means any enrolled person; admins may run everything. */
export type RequiredRole = 'admin' | 'teacher' | 'student';

/** The SDK services a command runs on. */
export interface LabServices {
  store: Store;
  clusters: ClusterApis;
  catalog: TemplateCatalog;
  engine: DeploymentEngine;
  inventory: InventoryService;
  power: VmPower;
  /** Snapshots of student VMs (`/myvm snapshot`, `/lab snapshot`). */
  snapshots: VmSnapshots;
  /** New login passwords set through the guest agent (`/myvm password`). */
  passwords: GuestPasswords;
  sync?: SyncEngine;
  /** The periodic template scan, made with `sync`; start and stop it with the sync engine (it scans only while that leads). */
  templateScans?: TemplateScanSchedule;
  /** Class schedules (VMs on before a session, off after), made with `sync`; it acts only while it holds its own lease. */
  scheduler?: ClassScheduler;
  clock: Clock;
  logger: Logger;
  /** The cluster commands act on when none is named. */
  defaultClusterId: string;
  /**
   * One-time browser console links (`/myvm console`). `publicUrl` is where the bot's HTTP server is
   * reached from browsers (`console.publicUrl`); without it the command says an admin must set it.
   */
  console?: { grants: ConsoleGrants; publicUrl?: string };
  /** Direct messages (join requests to teachers, approvals to students); a bot sets it once it is up. */
  notifier?: PersonNotifier;
  /**
   * The lab-wide time zone (`timezone` in lab.config.json): the default of `/lab schedule add` and
   * the zone of times of a class without a schedule. @defaultValue UTC
   */
  timezone?: string;
  /** Days a class's VMs are kept after its end date when its `set-end` names none (`endOfTerm.graceDays`). @defaultValue 14 */
  termGraceDays?: number;
  /**
   * The school directory: the group mapping sign-ins apply (`enrolFromSignIn`) and, with
   * `directory.ldap` configured, `lab directory sync` and its schedule in `lab serve`.
   */
  directory?: DirectoryService;
  /**
   * How the registered front ends write user ids (`FrontEndRegistry.identityFormats()`): the roster's
   * account columns and the accounts `people link` and `/lab link` accept. @defaultValue Slack's and Discord's
   */
  identityFormats?: readonly IdentityFormat[];
  /** Rates of the cost estimate in `/lab usage` (`costs` in lab.config.json); none, no estimate. */
  costs?: CostRates;
  /**
   * Each cluster's class networks (`ClassNetworks`, built from `sdn` in lab.config.json); undefined
   * for a cluster without them. The engine was given the same (`ensureLabNetworks`, `destroyClass`).
   */
  networks?: ClassNetworksOf;
}

/** The caller, resolved from their platform identity. */
export interface Caller {
  platform: Platform;
  platformUserId: string;
  person: PersonRecord;
  viewer: Viewer;
  /**
   * False for a caller no lab person is linked to yet; only subcommands with `allowUnknown` see
   * one. Its `person` is then a placeholder (id 0, role student, username `<platform>:<id>`) and
   * `viewer.personId` is null. @defaultValue true
   */
  known?: boolean;
}

/** A progress update a front end renders in place (`renderProgress`: a bar, clones under way, failures). */
export interface ProgressUpdate {
  label: string;
  done: number;
  total: number;
  note?: string;
  /** Clones under way, with Proxmox's percentage once it reports one. */
  cloning?: ReadonlyArray<{ name: string; percent?: number }>;
  /** VMs that failed so far, with the reason the deployment gives. */
  failed?: ReadonlyArray<{ name?: string; reason: string }>;
  /** The deployment event this update comes from, for front ends that show more than the text. */
  event?: DeploymentEvent;
}

/** A platform-neutral answer. Front ends render `text` (and `fields`); `data` is for `--json`. */
export interface Reply {
  text: string;
  fields?: Array<{ label: string; value: string }>;
  /** Only the caller sees it (personal data, errors). */
  ephemeral?: boolean;
  /** Machine-readable result (the CLI's `--json`). */
  data?: unknown;
  /**
   * Set when the command needs the caller to confirm. The router adds `id`, the single-use key of the
   * pending confirmation a Confirm button carries (`CommandRouter.confirm`); the CLI re-invokes with
   * `confirmed: true` instead.
   */
  /** `prompt` is the question shown with the buttons; `action` labels the Confirm button (the prompt if absent). */
  confirm?: { prompt: string; action?: string; id?: string };
  /** True when the command was refused or failed. */
  error?: boolean;
  /**
   * With `error`, when an option was not valid: which one and what is wrong, in words without the
   * chat syntax. `text` adds the chat usage line (`Usage: /lab …`); a front end of forms (the web
   * portal) names the field in a sentence of its own instead.
   */
  invalid?: { option: string; problem: string };
  /**
   * With `error`: the command ran and something failed (a deployment the cluster did not finish, a
   * sync that failed, a Proxmox or store error), rather than refused what was asked. Metrics count
   * such replies as `error`, every other error reply as `refused`.
   */
  failed?: boolean;
  /**
   * Files that go with the reply (e.g. an `.rdp` connection file). Slack uploads them to the
   * caller's DM, Discord attaches them to the reply, the CLI writes them where `--out` says.
   */
  attachments?: ReplyAttachment[];
}

/** A file of a reply. */
export interface ReplyAttachment {
  filename: string;
  /** MIME type, e.g. `application/x-rdp`. */
  contentType: string;
  /** The file's contents (text is written as UTF-8). */
  content: string | Uint8Array;
}

/** What a subcommand's `run` gets. */
export interface CommandContext {
  caller: Caller;
  services: LabServices;
  progress: (update: ProgressUpdate) => void;
  /** Whether the caller already confirmed (for destructive commands). */
  confirmed: boolean;
  /**
   * Where the front end shows this command's progress, to store with a deployment so whichever
   * process finishes it can post the summary there (`Invocation.notify`).
   */
  notify?: Record<string, unknown>;
}

/** One subcommand (`/lab deploy`, `/myvm start`). */
export interface Subcommand<S extends ZodObject = ZodObject> {
  description: string;
  /** Options as a zod object: the same schema makes Discord's options, Slack's usage and CLI help. */
  options: S;
  /** Option names in the order positional words fill them (`/lab deploy cs101 10 ubuntu`). */
  positional: ReadonlyArray<keyof S['shape'] & string>;
  role: RequiredRole;
  /** Replies are for the caller only. @defaultValue false */
  ephemeral?: boolean;
  /**
   * Callers no lab person is linked to may run it (e.g. `/lab join <code>`); see `Caller.known`.
   * Keep such subcommands to `role: 'student'`. @defaultValue false
   */
  allowUnknown?: boolean;
  /** Options whose values stay out of the audit log (invite codes). */
  sensitiveOptions?: ReadonlyArray<keyof S['shape'] & string>;
  /**
   * Options that take the *contents* of a file the user names (`people import roster.csv`). Only a
   * front end that runs on the user's own machine (the CLI) reads the file and passes its text;
   * chat front ends never read files, so there these options take text only.
   */
  fileOptions?: ReadonlyArray<keyof S['shape'] & string>;
  run(ctx: CommandContext, options: S['_output']): Promise<Reply>;
  /**
   * Suggestions for an option while the user types (Discord autocomplete): values, or values with
   * the label the user sees and matches by (a VM's name for its id).
   */
  autocomplete?: Partial<
    Record<keyof S['shape'] & string, (ctx: CommandContext, partial: string) => Promise<Array<string | Suggestion>>>
  >;
}

/** One autocomplete suggestion: `label` is shown and matched, `value` is what the option receives. */
export interface Suggestion {
  label: string;
  value: string;
}

/** A top-level command (`lab`, `myvm`) and its subcommands. */
export interface CommandPlugin {
  name: string;
  description: string;
  subcommands: Record<string, Subcommand>;
}

/** Declares a subcommand with its option types inferred. */
export function subcommand<S extends ZodObject>(definition: Subcommand<S>): Subcommand {
  return definition as unknown as Subcommand;
}

/** The description of a zod option, for usage texts. */
export function describeOption(schema: ZodType): string {
  return (schema as { description?: string }).description ?? '';
}
