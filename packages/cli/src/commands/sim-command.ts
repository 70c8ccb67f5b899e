import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { out } from '../global-options.js';
import { LabExit } from '../lab-exit.js';

/** `lab sim`: the Proxmox VE simulator on loopback, when `@lab/pve-sim` is installed. */
export function addSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'Run the Proxmox VE simulator on loopback, for trying things out. Prints one JSON line: url, fingerprint, token (and oidc with --oidc)',
    )
    .option(
      '--oidc',
      'also run a development OpenID provider on loopback for the web portal: it signs in the person named by login_hint WITHOUT A PASSWORD',
    )
    .option('--oidc-port <n>', "the development provider's port (0: any free one)", '0')
    .option(
      '--oidc-groups <file>',
      'with --oidc: a JSON file of groups per username ({"st01": ["cs101-students"]}) the development provider puts in the groups claim',
    )
    .option(
      '--scenario <name>',
      'small, school, ceph, large, firstday, firstday-ceph, or a scenario JSON file',
      'small',
    )
    .option('--port <n>', 'HTTPS port (0: any free one)', '0')
    .option('--time-scale <n>', 'run simulated durations this many times faster', '1')
    .option(
      '--pve-version <version>',
      "the Proxmox VE release to behave like, e.g. 9.1.3 or 8.4.1 (default: the scenario's)",
    )
    .option(
      '--ignore-acpi-rate <share>',
      'the share of guests (0 to 1) that never power off on a shutdown request',
      '0',
    )
    .action(
      async (options: {
        scenario: string;
        port: string;
        timeScale: string;
        pveVersion?: string;
        ignoreAcpiRate: string;
        oidc?: boolean;
        oidcPort: string;
        oidcGroups?: string;
      }) => {
        if (options.oidcGroups !== undefined && !options.oidc)
          throw new LabExit('--oidc-groups needs --oidc: add --oidc to run the development OpenID provider.');
        const groups = options.oidcGroups === undefined ? undefined : await readDevGroups(options.oidcGroups);
        if (options.pveVersion !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(options.pveVersion))
          throw new LabExit(`--pve-version takes a release like 9.1.3 or 8.4.1, not '${options.pveVersion}'.`);
        const ignoreAcpiRate = Number(options.ignoreAcpiRate);
        if (!(ignoreAcpiRate >= 0 && ignoreAcpiRate <= 1))
          throw new LabExit(
            `--ignore-acpi-rate takes a share from 0 to 1 (0.2 is one guest in five), not '${options.ignoreAcpiRate}'.`,
          );
        const { startPveSim } = await loadPveSim();
        const sim = await startPveSim({
          scenario: options.scenario,
          port: Number(options.port),
          timeScale: Number(options.timeScale),
          ...(options.pveVersion !== undefined ? { pveVersion: options.pveVersion } : {}),
          ...(ignoreAcpiRate > 0 ? { ignoreAcpiRate } : {}),
        });
        const oidc = options.oidc ? await startDevProvider(Number(options.oidcPort), groups) : undefined;
        out(
          JSON.stringify({
            url: sim.url,
            fingerprint: sim.fingerprint,
            tokenId: sim.tokenId,
            tokenSecret: sim.tokenSecret,
            ...(oidc ? { oidc: oidc.printed } : {}),
          }),
        );
        const stop = () => void Promise.all([sim.close(), oidc?.provider.close()]).then(() => process.exit(0));
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      },
    );
}

/**
 * The simulator package: an optional peer of the CLI (installed in the repository, not with `lab`),
 * so a missing one is a plain instruction rather than a stack trace.
 */
async function loadPveSim(): Promise<typeof import('@lab/pve-sim')> {
  try {
    return await import('@lab/pve-sim');
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code === 'ERR_MODULE_NOT_FOUND' && message?.includes('@lab/pve-sim'))
      throw new LabExit(
        'install @lab/pve-sim to use lab sim: in this repository it is there after npm ci; on a server install release/optional/lab-pve-sim-*.tgz from npm run pack:release (npm install -g ./release/optional/lab-pve-sim-*.tgz).',
      );
    throw error;
  }
}

/** The groups per username of `--oidc-groups`, read before anything starts so a bad file starts nothing. */
async function readDevGroups(file: string): Promise<Record<string, string[]>> {
  const { parseDevGroups } = await import('@lab/web/dev-provider');
  try {
    return parseDevGroups(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new LabExit(`cannot use ${file}: ${(error as Error).message}.`);
  }
}

/**
 * The web portal's development OpenID provider on loopback, its client secret written to a file only
 * this user may read (what `web.oidc.clientSecretFile` names).
 */
async function startDevProvider(port: number, groups: Record<string, string[]> | undefined) {
  const { startDevOidcProvider } = await import('@lab/web/dev-provider');
  const provider = await startDevOidcProvider({ port, ...(groups ? { groups } : {}) });
  const dir = mkdtempSync(join(tmpdir(), 'lab-oidc-'));
  const clientSecretFile = join(dir, 'client-secret');
  writeFileSync(clientSecretFile, `${provider.clientSecret}\n`, { mode: 0o600 });
  chmodSync(clientSecretFile, 0o600);
  return {
    provider,
    printed: { issuer: provider.issuer, clientId: provider.clientId, clientSecretFile },
  };
}
