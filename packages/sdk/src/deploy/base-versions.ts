import type { TemplateInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { baseVmName, labRolePrefix } from '../templates/class-vm-names.js';

/** One version of a class's base template and where its copies are (node → VMID). */
export interface BaseVersionCopies {
  /** 1 for `<class>-base`, N for `<class>-base-vN`. */
  version: number;
  name: string;
  copies: Record<string, number>;
}

/** The name of version `version` of a class's base template: `cs101-base` for 1, `cs101-base-v2` … */
export function baseVersionName(classId: string, version: number): string {
  return version <= 1 ? baseVmName(classId) : `${baseVmName(classId)}-v${version}`;
}

/** The version a base template name stands for, or undefined when it is not one of the class's. */
export function baseVersionOf(classId: string, name: string): number | undefined {
  if (name === baseVmName(classId)) return 1;
  const match = new RegExp(`^${baseVmName(classId)}-v(\\d+)$`).exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * Every version of the class's base template the template inventory knows on `clusterId`, oldest
 * first, with the nodes each has a copy on. Vanished templates are left out.
 */
export async function classBaseVersions(
  store: Store,
  clusterId: string,
  classId: string,
  labRole?: string,
): Promise<BaseVersionCopies[]> {
  const rows: TemplateInventoryRecord[] = await store.templateInventory.list({
    clusterId,
    classId,
    isClassTemplate: true,
  });
  const byVersion = new Map<number, BaseVersionCopies>();
  for (const row of rows) {
    const version = baseVersionOf(labRolePrefix(classId, labRole), row.name);
    if (version === undefined) continue;
    const entry = byVersion.get(version) ?? { version, name: row.name, copies: {} };
    entry.copies[row.node] = row.vmid;
    byVersion.set(version, entry);
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version);
}

/** The newest version of the class's base template, or undefined when the class has none yet. */
export async function currentBaseVersion(
  store: Store,
  clusterId: string,
  classId: string,
  labRole?: string,
): Promise<BaseVersionCopies | undefined> {
  return (await classBaseVersions(store, clusterId, classId, labRole)).at(-1);
}
