import { TransactionGuard } from '@lab/proxmox-sdk/store';
import type { Store } from '@lab/proxmox-sdk';
import type { Kysely } from 'kysely';
import type { Database, Engine } from './database.js';
import { consoleGrantRepository } from './repositories/console-grant-repository.js';
import { rateLimitRepository } from './repositories/rate-limit-repository.js';
import { linkCodeRepository } from './repositories/link-code-repository.js';
import { classTermRepository } from './repositories/class-term-repository.js';
import { sdnRepository } from './repositories/sdn-repository.js';
import { labDefinitionRepository } from './repositories/lab-definition-repository.js';
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
import { webSessionRepository } from './repositories/web-session-repository.js';

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
  readonly #guard = new TransactionGuard();
  readonly consoleGrants;
  readonly rateLimits;
  readonly webSessions;
  readonly linkCodes;
  readonly classTerms;
  readonly sdn;
  readonly labDefinitions;

  constructor(
    /** The kysely handle, for queries the repositories do not offer (reports, migrations). */
    readonly db: Kysely<Database>,
    readonly engine: Engine,
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {
    const inTransaction = inTransactionOf(db);
    this.clusters = this.#guarded(clusterRepository(db), 'clusters');
    this.templates = this.#guarded(templateRepository(db, inTransaction), 'templates');
    this.templateInventory = this.#guarded(templateInventoryRepository(db, inTransaction), 'templateInventory');
    this.classes = this.#guarded(classRepository(db), 'classes');
    this.inventory = this.#guarded(inventoryRepository(db, inTransaction, engine), 'inventory');
    this.deployments = this.#guarded(deploymentRepository(db, inTransaction), 'deployments');
    this.sync = this.#guarded(syncRepository(db), 'sync');
    this.nonces = this.#guarded(nonceRepository(db), 'nonces');
    this.invites = this.#guarded(inviteRepository(db, inTransaction), 'invites');
    this.sshKeys = this.#guarded(sshKeyRepository(db), 'sshKeys');
    this.classLifecycle = this.#guarded(classLifecycleRepository(db), 'classLifecycle');
    this.schedules = this.#guarded(scheduleRepository(db), 'schedules');
    this.usage = this.#guarded(usageRepository(db), 'usage');
    this.audit = this.#guarded(auditRepository(db), 'audit');
    this.consoleGrants = this.#guarded(consoleGrantRepository(db), 'consoleGrants');
    this.rateLimits = this.#guarded(rateLimitRepository(db), 'rateLimits');
    this.webSessions = this.#guarded(webSessionRepository(db), 'webSessions');
    this.linkCodes = this.#guarded(linkCodeRepository(db, inTransaction), 'linkCodes');
    this.classTerms = this.#guarded(classTermRepository(db), 'classTerms');
    this.sdn = this.#guarded(sdnRepository(db), 'sdn');
    this.labDefinitions = this.#guarded(labDefinitionRepository(db), 'labDefinitions');
  }

  /**
   * Runs `fn` in one transaction; `tx.transaction` joins it. Inside `fn`, a call to this (outer)
   * store throws `StoreInTransactionError` at once instead of waiting for the transaction forever.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    try {
      this.#guard.assertOutside('transaction');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.db.transaction().execute((trx) => this.#guard.run(() => fn(new KyselyStore(trx, this.engine))));
  }

  /** A repository of the outer store refuses calls from inside its transactions; a transaction's own does not need to. */
  #guarded<T extends object>(repo: T, name: string): T {
    return this.db.isTransaction ? repo : this.#guard.guard(repo, name);
  }

  /** Closes the connection (pool). */
  close(): Promise<void> {
    return this.onClose();
  }
}
