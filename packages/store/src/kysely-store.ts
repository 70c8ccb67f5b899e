import type { Store } from '@lab/proxmox-sdk';
import type { Kysely } from 'kysely';
import type { Database, Engine } from './database.js';
import { consoleGrantRepository } from './repositories/console-grant-repository.js';
import { classRepository } from './repositories/class-repository.js';
import { deploymentRepository } from './repositories/deployment-repository.js';
import { inTransactionOf } from './repositories/in-transaction.js';
import { inventoryRepository } from './repositories/inventory-repository.js';
import { inviteRepository } from './repositories/invite-repository.js';
import { classLifecycleRepository, sshKeyRepository } from './repositories/lifecycle-repositories.js';
import { scheduleRepository } from './repositories/schedule-repository.js';
import { usageRepository } from './repositories/usage-repository.js';
import { nonceRepository } from './repositories/nonce-repository.js';
import { auditRepository, clusterRepository, syncRepository } from './repositories/small-repositories.js';
import { templateInventoryRepository, templateRepository } from './repositories/template-repositories.js';

/** A `Store` over a kysely handle (a database, or a transaction of one). */
export class KyselyStore implements Store {
  readonly clusters;
  readonly templates;
  readonly templateInventory;
  readonly classes;
  readonly inventory;
  readonly deployments;
  readonly sync;
  readonly nonces;
  readonly invites;
  readonly sshKeys;
  readonly classLifecycle;
  readonly schedules;
  readonly usage;
  readonly audit;
  readonly consoleGrants;

  constructor(
    /** The kysely handle, for queries the repositories do not offer (reports, migrations). */
    readonly db: Kysely<Database>,
    readonly engine: Engine,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {
    const inTransaction = inTransactionOf(db);
    this.clusters = clusterRepository(db);
    this.templates = templateRepository(db, inTransaction);
    this.templateInventory = templateInventoryRepository(db, inTransaction);
    this.classes = classRepository(db);
    this.inventory = inventoryRepository(db, inTransaction);
    this.deployments = deploymentRepository(db, inTransaction);
    this.sync = syncRepository(db);
    this.nonces = nonceRepository(db);
    this.invites = inviteRepository(db, inTransaction);
    this.sshKeys = sshKeyRepository(db);
    this.classLifecycle = classLifecycleRepository(db);
    this.schedules = scheduleRepository(db);
    this.usage = usageRepository(db);
    this.audit = auditRepository(db);
    this.consoleGrants = consoleGrantRepository(db);
  }

  /** Runs `fn` in one transaction; inside one already, joins it. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return this.db.transaction().execute((trx) => fn(new KyselyStore(trx, this.engine)));
  }

  /** Closes the connection (pool). */
  close(): Promise<void> {
    return this.onClose();
  }
}
