import { describe, expect, it } from 'vitest';
import {
  ClassScheduler,
  Clusters,
  ConsoleGrants,
  DeploymentEngine,
  InventoryService,
  ProxmoxClient,
  SyncEngine,
  TemplateCatalog,
  TemplateScanSchedule,
  VmPower,
} from '../src/index.js';
import { ConfigError } from '../src/errors/index.js';
import { RetryBudget } from '../src/pve/index.js';
import { createMemoryStore } from '../src/testing/index.js';

/** The error a constructor throws, or a failure naming that it threw none. */
function thrownBy(construct: () => unknown): unknown {
  try {
    construct();
  } catch (error) {
    return error;
  }
  throw new Error('the constructor accepted the options');
}

function expectConfigError(construct: () => unknown, message: RegExp, key: string): void {
  const error = thrownBy(construct);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).code).toBe('LAB_CONFIG');
  expect((error as ConfigError).message).toMatch(message);
  expect((error as ConfigError).data).toMatchObject({ key });
}

const anyOptions = (options: unknown) => options as never;
const token = { type: 'token', tokenId: 'lab@pve!bot', secret: 's3cret' };

describe('public SDK constructors given missing or wrong options', () => {
  it('ProxmoxClient names baseUrl and auth instead of throwing a TypeError', () => {
    expectConfigError(
      () => new ProxmoxClient(anyOptions({ auth: token })),
      /^new ProxmoxClient: option 'baseUrl' is missing; give the cluster's URL, e\.g\. https:\/\/pve1\.example\.org:8006$/,
      'baseUrl',
    );
    expectConfigError(
      () => new ProxmoxClient(anyOptions({ baseUrl: 8006, auth: token })),
      /^new ProxmoxClient: option 'baseUrl' must be a string, got number 8006/,
      'baseUrl',
    );
    expectConfigError(
      () => new ProxmoxClient(anyOptions({ baseUrl: 'https://pve1.example.org:8006' })),
      /^new ProxmoxClient: option 'auth' is missing; give \{ type: 'token'/,
      'auth',
    );
    expectConfigError(
      () => new ProxmoxClient(anyOptions({ baseUrl: 'https://pve1.example.org:8006', auth: { type: 'apikey' } })),
      /auth\.type must be 'token' or 'ticket', got "apikey"/,
      'auth.type',
    );
    expectConfigError(
      () => new ProxmoxClient(anyOptions({ baseUrl: 'https://pve1.example.org:8006', auth: token, timeoutMs: '30s' })),
      /^new ProxmoxClient: option 'timeoutMs' must be a number, got the string '30s'$/,
      'timeoutMs',
    );
    expectConfigError(
      () => new ProxmoxClient(anyOptions(undefined)),
      /^new ProxmoxClient: give its options as an object with baseUrl, auth; got undefined$/,
      'options',
    );
  });

  it('Clusters wants an array of configurations', () => {
    expectConfigError(
      () => new Clusters(anyOptions(undefined)),
      /^new Clusters: give the cluster configurations as an array/,
      'clusters',
    );
    expectConfigError(() => new Clusters(anyOptions({ id: 'lab' })), /got object$/, 'clusters');
    expectConfigError(() => new Clusters([], anyOptions({ env: 'x' })), /option 'env' must be an object/, 'env');
  });

  it('the engines name the port that is missing', () => {
    const store = createMemoryStore();
    const clusters = { get: () => undefined as never, ids: () => [] };
    expectConfigError(
      () => new DeploymentEngine(anyOptions({ store, clusters })),
      /^new DeploymentEngine: option 'catalog' is missing; give a TemplateCatalog/,
      'catalog',
    );
    expectConfigError(
      () => new SyncEngine(anyOptions({ clusters })),
      /^new SyncEngine: option 'store' is missing; give a Store/,
      'store',
    );
    expectConfigError(
      () => new TemplateCatalog(anyOptions({ store })),
      /^new TemplateCatalog: option 'clusters' is missing/,
      'clusters',
    );
    expectConfigError(
      () => new VmPower(anyOptions({ store, clusters: null })),
      /^new VmPower: option 'clusters' must be an object, got null/,
      'clusters',
    );
    expectConfigError(
      () => new ClassScheduler(anyOptions(undefined)),
      /^new ClassScheduler: give its options as an object/,
      'options',
    );
    expectConfigError(
      () => new InventoryService(anyOptions({ store, clusterIds: ['lab'] })),
      /^new InventoryService: option 'clusterIds' must be a function, got an array/,
      'clusterIds',
    );
    expectConfigError(
      () => new ConsoleGrants(anyOptions({})),
      /^new ConsoleGrants: option 'store' is missing/,
      'store',
    );
    expectConfigError(
      () => new TemplateScanSchedule(anyOptions({ store, clusters })),
      /^new TemplateScanSchedule: option 'isLeader' is missing$/,
      'isLeader',
    );
    expectConfigError(
      () => new RetryBudget(anyOptions({ ratio: '0.2' })),
      /^new RetryBudget: option 'ratio' must be a number/,
      'ratio',
    );
  });
});
