import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve, sep } from 'node:path';

let root: string | undefined;

/** The directory of the installed `@novnc/novnc` package (its `core/` and `vendor/` are served). */
export function novncRoot(): string {
  // The package's only export is core/rfb.js; its package root is two levels up.
  root ??= dirname(dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));
  return root;
}

/**
 * The noVNC module at `relative` (e.g. `core/rfb.js`), read from the installed package; undefined
 * for anything outside `core/` and `vendor/`, any other extension, or a missing file.
 */
export async function readNovncFile(relative: string): Promise<Buffer | undefined> {
  if (!/^(core|vendor)\/[A-Za-z0-9_./-]+\.js$/.test(relative) || relative.includes('..')) return undefined;
  const base = novncRoot();
  const file = resolve(base, relative);
  if (!file.startsWith(base + sep)) return undefined;
  return readFile(file).catch(() => undefined);
}
