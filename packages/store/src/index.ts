export { openStore, type OpenStoreOptions } from './open-store.js';
export { KyselyStore } from './kysely-store.js';
export { parseStoreUrl, type StoreLocation } from './store-url.js';
export { redactStoreUrl } from './redact-store-url.js';
export { createMigrator, migrateToLatest } from './migrations/migrations.js';
export {
  importLegacyTemplates,
  readLegacySqlite,
  type LegacyImportReport,
  type LegacyReplicaRow,
  type LegacyTemplateRow,
} from './legacy-import.js';
export type { Database, Engine } from './database.js';
export { StoreDataError } from './store-data-error.js';
export { StoreDriverMissingError } from './store-driver-missing-error.js';
