import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  Clusters,
  LabDoctor,
  doctorReport,
  type ClusterConfig,
  type DoctorCheck,
  type DoctorReport,
} from '@lab/proxmox-sdk';
import { createMigrator, openStore, parseStoreUrl, redactStoreUrl } from '@lab/proxmox-store';
import { checkFrontEnds } from './doctor-front-ends.js';
import { loadLabConfig, type LabConfig } from './lab-config.js';
import { operatorName } from './operator.js';

export type { DoctorCheck, DoctorReport };

/**
 * Checks an installation end to end: the configuration, the store (reachable, migrated), and per
 * cluster its TLS trust, reachability and PVE version, and the token's privileges; then the Slack and
 * Discord settings and `console.publicUrl` that are configured. Never throws:
 * every problem is a failed check that says what to do.
 */
export async function runDoctor(configPath?: string): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const file = resolve(configPath ?? process.env.LAB_CONFIG ?? 'lab.config.json');
  let config: LabConfig;
  try {
    config = loadLabConfig(file);
    checks.push({ subject: 'configuration', status: 'ok', detail: `${file} is valid` });
  } catch (error) {
    checks.push({
      subject: 'configuration',
      status: 'fail',
      detail: messageOf(error),
      fix: existsSync(file) ? [`edit ${file}`] : ['lab init'],
    });
    return { ok: false, checks };
  }
  const store = await checkStore(config.store);
  checks.push(store);
  checks.push(...(await clusterChecks(config, store.status === 'ok')));
  checks.push(...checkFrontEnds(config));
  return doctorReport(checks);
}

/**
 * The clusters' checks (the SDK's `LabDoctor`): through the router's `/lab doctor` as the local
 * operator (an admin) when the store is ready and the runtime opens — the same path as every other
 * front end — else cluster by cluster, so that one cluster's bad configuration is its own failed check.
 */
async function clusterChecks(config: LabConfig, storeReady: boolean): Promise<DoctorCheck[]> {
  if (storeReady) {
    const { openLabRuntime } = await import('./lab-runtime.js');
    const runtime = await openLabRuntime(config).catch(() => undefined);
    if (runtime) {
      try {
        const reply = await runtime.router.invoke({
          platform: 'cli',
          userId: operatorName(),
          operator: true,
          command: 'lab',
          subcommand: 'doctor',
          options: {},
        });
        const report = reply.data as DoctorReport | undefined;
        if (report) return report.checks;
        return [{ subject: 'clusters', status: 'fail', detail: reply.text }];
      } finally {
        await runtime.close();
      }
    }
  }
  const checks: DoctorCheck[] = [];
  for (const [index, cluster] of config.clusters.entries())
    checks.push(
      ...(await checkCluster(cluster, index, {
        console: Boolean(config.console?.publicUrl),
        networks: config.sdn !== undefined,
      })),
    );
  return checks;
}

async function checkStore(url: string): Promise<DoctorCheck> {
  const shown = redactStoreUrl(url);
  try {
    const location = parseStoreUrl(url);
    if (location.engine === 'sqlite' && location.path !== ':memory:' && !existsSync(location.path)) {
      return {
        subject: 'store',
        status: 'fail',
        detail: `${shown}: the database file does not exist yet`,
        fix: ['lab db migrate (or lab init)'],
      };
    }
    const store = await openStore(url, { migrate: false });
    try {
      const migrations = await createMigrator(store.db as never, store.engine).getMigrations();
      const pending = migrations.filter((m) => !m.executedAt).map((m) => m.name);
      if (pending.length)
        return {
          subject: 'store',
          status: 'fail',
          detail: `${shown} is reachable but ${pending.length} migration(s) are pending: ${pending.join(', ')}`,
          fix: ['lab db migrate'],
        };
      return {
        subject: 'store',
        status: 'ok',
        detail: `${shown} is reachable and at the latest schema (${migrations.length} migrations)`,
      };
    } finally {
      await store.close();
    }
  } catch (error) {
    return {
      subject: 'store',
      status: 'fail',
      detail: messageOf(error),
      fix: ["check the 'store' key (or LAB_STORE) and that the database is up"],
    };
  }
}

async function checkCluster(
  cluster: ClusterConfig,
  index: number,
  needs: { console: boolean; networks: boolean },
): Promise<DoctorCheck[]> {
  let clusters: Clusters;
  try {
    clusters = new Clusters([cluster]);
  } catch (error) {
    return [
      {
        subject: `cluster ${cluster.id}`,
        status: 'fail',
        detail: messageOf(error).replace("'clusters.0.", `'clusters.${index}.`),
        fix: ['lab init, or set the key it names'],
      },
    ];
  }
  try {
    const at = {
      get: (id: string) => clusters.get(id),
      ids: () => [cluster.id],
      describe: (id: string) => {
        const about = clusters.describe(id);
        return about && { ...about, index };
      },
    };
    return await new LabDoctor({ clusters: at, console: needs.console, networks: needs.networks }).checkCluster(
      cluster.id,
    );
  } finally {
    await clusters.close();
  }
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
