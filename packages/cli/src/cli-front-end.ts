import { z } from 'zod';
import { defineFrontEnd, renderProgress } from '@lab/commands';
import type { IdentityFormat } from '@lab/proxmox-sdk';

/** The `cli` section of lab.config.json. */
export const cliConfigSchema = z.object({ defaultUser: z.string().optional() }).strict();

/** The validated `cli` section. */
export type CliConfig = z.output<typeof cliConfigSchema>;

/** An operating-system user name, as the CLI stores a `cli` identity (`lab people link` never takes one). */
const OS_USER = /^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$/;

/** How the CLI writes its callers: the operating-system user (or `--as` name) as it is. */
export const cliIdentity: IdentityFormat = {
  platform: 'cli',
  label: 'the CLI',
  example: 'alice',
  shape: 'an operating-system user name',
  isUserId: (id) => OS_USER.test(id),
  parse: (text) => (OS_USER.test(text.trim()) ? text.trim() : undefined),
  display: (id) => id,
  linkable: false,
};

/**
 * The `lab` command as a front end: its commands run on the operator's machine through the same
 * router. It is no server (`lab serve cli` is refused) and sends no direct messages.
 */
export const cliFrontEnd = defineFrontEnd<CliConfig>({
  id: 'cli',
  label: 'the CLI',
  identity: cliIdentity,
  configSchema: cliConfigSchema,
  renderProgress,
});
