import type { Command } from 'commander';
import { globals, out } from '../global-options.js';
import { loadLabConfig } from '../lab-config.js';

/** `lab db migrate` and `lab db import-legacy`: the store. */
export function addDbCommands(program: Command): void {
  const db = program.command('db').description('The store: migrations and imports');
  db.command('migrate')
    .description(
      "Migrate the store to the latest schema (also done whenever it opens); creates the SQLite file's directory",
    )
    .action(async (_options, command: Command) => {
      const flags = globals(command);
      const config = loadLabConfig(flags.config);
      const { openStore, redactStoreUrl } = await import('@lab/proxmox-store');
      await (await openStore(config.store, { createDirectories: true })).close();
      out(
        flags.json
          ? JSON.stringify({ migrated: true, store: redactStoreUrl(config.store) })
          : 'store is at the latest schema',
      );
    });
  db.command('import-legacy')
    .description("Import the old bot's template tables (idempotent)")
    .requiredOption('--from <file>', 'the old SQLite database')
    .option('--cluster <id>', 'the cluster its templates are on (default: the first configured)')
    .action(async (options: { from: string; cluster?: string }, command: Command) => {
      const flags = globals(command);
      const config = loadLabConfig(flags.config);
      const { openStore, importLegacyTemplates, readLegacySqlite } = await import('@lab/proxmox-store');
      const legacy = readLegacySqlite(options.from);
      const store = await openStore(config.store);
      try {
        const report = await importLegacyTemplates(store, legacy, {
          clusterId: options.cluster ?? config.clusters[0]!.id,
          now: Date.now(),
        });
        const skipped = report.skipped.length
          ? `; skipped: ${report.skipped.map((s) => `${s.row} (${s.reason})`).join('; ')}`
          : '';
        out(
          flags.json
            ? JSON.stringify(report)
            : `${report.templatesCreated} templates created, ${report.mappingsAdded} node mappings added, ${report.mappingsKept} already there${skipped}`,
        );
      } finally {
        await store.close();
      }
    });
}
