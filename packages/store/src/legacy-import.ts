import { loadDriver } from './load-driver.js';
import type BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '@lab/proxmox-sdk/errors';
import type { Store } from '@lab/proxmox-sdk';

/** A row of the seeds' old `vm_templates` table. */
export interface LegacyTemplateRow {
  id: number;
  name: string;
  description?: string | null;
  proxmox_template_id: number;
  proxmox_node: string;
  memory?: number | null;
  cores?: number | null;
  is_active?: number | boolean | null;
}

/** A row of the seeds' old `vm_template_replicas` table. */
export interface LegacyReplicaRow {
  template_id: number;
  proxmox_node: string;
  proxmox_template_id: number;
}

/** What an import did. */
export interface LegacyImportReport {
  templatesCreated: number;
  mappingsAdded: number;
  mappingsKept: number;
  /** Rows that could not be imported, with the reason. */
  skipped: Array<{ row: string; reason: string }>;
}

/**
 * Turns the seeds' legacy template rows into templates with per-node mappings (what seed 000's
 * migration did): each template's own node/VMID plus one mapping per replica. Idempotent: run it
 * again and it adds nothing. Everything is written in one transaction.
 */
export async function importLegacyTemplates(
  store: Store,
  legacy: { templates: readonly LegacyTemplateRow[]; replicas: readonly LegacyReplicaRow[] },
  options: { clusterId: string; now: number },
): Promise<LegacyImportReport> {
  const report: LegacyImportReport = { templatesCreated: 0, mappingsAdded: 0, mappingsKept: 0, skipped: [] };
  await store.transaction(async (tx) => {
    const idMap = new Map<number, number>();
    for (const row of legacy.templates) {
      if (!row.name || !Number.isInteger(row.proxmox_template_id) || !row.proxmox_node) {
        report.skipped.push({
          row: `vm_templates id ${row.id}`,
          reason: 'name, proxmox_template_id and proxmox_node are required',
        });
        continue;
      }
      let template = await tx.templates.getByName(row.name);
      if (!template) {
        template = await tx.templates.create(
          {
            name: row.name,
            description: row.description ?? '',
            memory: row.memory ?? 2048,
            cores: row.cores ?? 2,
            isActive: row.is_active === undefined || row.is_active === null ? true : Boolean(row.is_active),
          },
          [],
          options.now,
        );
        report.templatesCreated++;
      }
      idMap.set(row.id, template.id);
      await addMapping(
        tx,
        report,
        template.id,
        options.clusterId,
        row.proxmox_node,
        row.proxmox_template_id,
        `vm_templates id ${row.id}`,
      );
    }
    for (const replica of legacy.replicas) {
      const templateId = idMap.get(replica.template_id);
      if (templateId === undefined) {
        report.skipped.push({
          row: `vm_template_replicas template ${replica.template_id} on ${replica.proxmox_node}`,
          reason: `no vm_templates row with id ${replica.template_id}`,
        });
        continue;
      }
      await addMapping(
        tx,
        report,
        templateId,
        options.clusterId,
        replica.proxmox_node,
        replica.proxmox_template_id,
        `replica of template ${replica.template_id} on ${replica.proxmox_node}`,
      );
    }
  });
  return report;
}

async function addMapping(
  tx: Store,
  report: LegacyImportReport,
  templateId: number,
  clusterId: string,
  node: string,
  vmid: number,
  label: string,
): Promise<void> {
  const existing = (await tx.templates.mappings(templateId)).find((m) => m.clusterId === clusterId && m.node === node);
  if (!existing) {
    await tx.templates.addMapping({ templateId, clusterId, node, vmid });
    report.mappingsAdded++;
  } else if (existing.vmid === vmid) {
    report.mappingsKept++;
  } else {
    report.skipped.push({
      row: label,
      reason: `template already maps node '${node}' to VMID ${existing.vmid}, not ${vmid}`,
    });
  }
}

/**
 * Reads the legacy `vm_templates` and `vm_template_replicas` tables from the seeds' old SQLite
 * database (read-only), for `importLegacyTemplates`. A file without them is a `ConfigError`.
 */
export function readLegacySqlite(path: string): { templates: LegacyTemplateRow[]; replicas: LegacyReplicaRow[] } {
  const Sqlite = loadDriver<typeof BetterSqlite3>('better-sqlite3', 'SQLite');
  let db: BetterSqlite3.Database;
  try {
    db = new Sqlite(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new ConfigError(`cannot open the legacy database ${path}: ${(error as Error).message}`, { path });
  }
  try {
    const tables = new Set(
      (db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map(
        (t) => t.name,
      ),
    );
    if (!tables.has('vm_templates'))
      throw new ConfigError(`${path} has no vm_templates table; is it the old Proxmox Lab database?`, { path });
    const templates = db.prepare('select * from vm_templates order by id').all() as LegacyTemplateRow[];
    const replicas = tables.has('vm_template_replicas')
      ? (db
          .prepare('select template_id, proxmox_node, proxmox_template_id from vm_template_replicas')
          .all() as LegacyReplicaRow[])
      : [];
    return { templates, replicas };
  } finally {
    db.close();
  }
}
