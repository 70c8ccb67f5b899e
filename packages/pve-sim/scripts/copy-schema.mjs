// Copies the official PVE API schema into the package so the published simulator carries it.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = resolve(here, '../assets/api-schema.json');
const candidates = [
  process.env.PVE_API_SCHEMA,
  resolve(here, '../../../../shared/pve/api-schema.json'),
  resolve(here, '../../../shared/pve/api-schema.json'),
].filter(Boolean);
const source = candidates.find((p) => existsSync(p));
if (!source) {
  if (existsSync(target)) process.exit(0);
  console.error(
    `pve-sim: the PVE API schema was not found (looked in ${candidates.join(', ')}); set PVE_API_SCHEMA to its path`,
  );
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
