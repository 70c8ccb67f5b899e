import type { Command } from 'commander';
import { globals, out } from '../global-options.js';
import type { InitOptions } from '../init.js';

/** `lab init`: writes the configuration, pins the certificate, creates the store and the first admin. */
export function addInitCommand(program: Command): void {
  program
    .command('init')
    .description('Write lab.config.json for a cluster, pin its certificate, create the store and the first admin')
    .option('--url <url>', 'the cluster API, https://host:8006')
    .option('--token-id <id>', 'API token, USER@REALM!TOKENID (e.g. lab@pve!bot)')
    .option('--token-secret-file <file>', 'file holding the token secret (or set LAB_CLUSTER_<ID>_TOKEN_SECRET)')
    .option('--cluster <id>', 'a short name for the cluster', 'pve')
    .option('--store <url>', 'sqlite:<path> or postgres://…', 'sqlite:./lab.db')
    .option('--fingerprint <sha256>', "pin this certificate fingerprint (checked against the node's)")
    .option('--ca <file>', 'trust the CA in this PEM file instead of pinning (e.g. a copy of /etc/pve/pve-root-ca.pem)')
    .option('--admin <username>', 'the first admin person (default: your OS user name)')
    .option('--force', 'overwrite an existing configuration file')
    .action(async (options: InitOptions, command: Command) => {
      const { runInit } = await import('../init.js');
      await runInit({ ...options, ...globals(command) }, out);
    });
}
