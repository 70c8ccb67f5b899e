import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as esm from '../src/errors/index.js';
import { Clusters, LabError, isLabError, redact } from '../src/index.js';
import { ConfigError, PveHttpError, UnknownClusterError } from '../src/errors/index.js';
import { pvePath } from '../src/pve/index.js';
import { backoffDelay } from '../src/client/backoff.js';
import { encodePveParams } from '../src/client/form-encoding.js';

describe('errors', () => {
  it('carry a stable code, a readable name and their facts', () => {
    const error = new PveHttpError({
      clusterId: 'lab',
      method: 'POST',
      path: '/x',
      status: 500,
      pveMessage: 'VM is locked (clone)',
    });
    expect(error.code).toBe('LAB_PVE_HTTP_500');
    expect(error.name).toBe('PveHttpError[LAB_PVE_HTTP_500]');
    expect(error).toBeInstanceOf(LabError);
    expect(isLabError(error)).toBe(true);
    expect(error.toJSON()).toMatchObject({ code: 'LAB_PVE_HTTP_500', status: 500, pveMessage: 'VM is locked (clone)' });
  });

  it('are recognised with instanceof across the CJS and ESM builds', () => {
    const cjs = createRequire(import.meta.url)('../dist/errors.cjs') as typeof esm;
    const fromCjs = new cjs.PveHttpError({ clusterId: 'a', method: 'GET', path: '/', status: 502, pveMessage: '' });
    expect(fromCjs).toBeInstanceOf(esm.PveHttpError);
    expect(fromCjs).toBeInstanceOf(esm.LabError);
    expect(fromCjs).not.toBeInstanceOf(esm.PveAuthError);
    expect(new Error('x')).not.toBeInstanceOf(esm.LabError);
  });

  it('brands each class by its code, so two copies of a class with one code recognise each other', () => {
    class CopyA extends LabError {
      static override readonly code = 'LAB_TEST_COPY';
    }
    class CopyB extends LabError {
      static override readonly code = 'LAB_TEST_COPY';
    }
    class Other extends LabError {
      static override readonly code = 'LAB_TEST_OTHER';
    }
    class CodelessChild extends CopyA {}
    const a = new CopyA(CopyA.code, 'a');
    expect(a).toBeInstanceOf(CopyB);
    expect(a).not.toBeInstanceOf(Other);
    expect(new CodelessChild(CopyA.code, 'c')).toBeInstanceOf(CopyB);
    expect(new esm.DuplicateNameError('class', 'cs101')).toBeInstanceOf(esm.StoreConstraintError);
    expect(new esm.TemplateNotFoundError('x', [])).not.toBeInstanceOf(esm.StoreConstraintError);
  });
});

describe('request encoding', () => {
  it('sends booleans as 0/1, arrays as repeated keys, and drops empty values', () => {
    expect(
      encodePveParams({ full: true, onboot: false, ids: ['a', 'b'], name: 'cs101 alice', skip: undefined, none: null }),
    ).toBe('full=1&onboot=0&ids=a&ids=b&name=cs101+alice');
  });

  it('escapes path segments', () => {
    expect(pvePath`/nodes/${'pve1'}/tasks/${'UPID:pve1:1:2:3:qmclone:9000:a@pve!t:'}/status`).toBe(
      '/nodes/pve1/tasks/UPID%3Apve1%3A1%3A2%3A3%3Aqmclone%3A9000%3Aa%40pve!t%3A/status',
    );
  });

  it('backs off exponentially with jitter and a cap', () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
  });
});

describe('redaction', () => {
  it('hides secret-named fields and listed secret values anywhere', () => {
    const out = redact(
      {
        tokenSecret: 'abc',
        nested: { password: 'p', note: 'token is s3cr3t-value here' },
        list: [{ authorization: 'PVEAPIToken=x' }],
      },
      ['s3cr3t-value'],
    );
    expect(out).toEqual({
      tokenSecret: '[REDACTED]',
      nested: { password: '[REDACTED]', note: 'token is [REDACTED] here' },
      list: [{ authorization: '[REDACTED]' }],
    });
  });
});

describe('Clusters from configuration', () => {
  it('builds one client per cluster and lists the ids it knows', async () => {
    const clusters = new Clusters([
      { id: 'lab1', url: 'https://127.0.0.1:8006', tokenId: 'lab@pve!bot', tokenSecret: 'x1' },
      { id: 'lab2', url: 'https://127.0.0.2:8006', username: 'root@pam', password: 'y' },
    ]);
    expect(clusters.ids()).toEqual(['lab1', 'lab2']);
    expect(clusters.get('lab2').clusterId).toBe('lab2');
    expect(() => clusters.get('lab3')).toThrow(UnknownClusterError);
    expect(() => clusters.get('lab3')).toThrow("no cluster 'lab3' is configured; known clusters: lab1, lab2");
    await clusters.close();
  });

  it('points at the bad key', () => {
    expect(() => new Clusters([{ id: 'lab1', url: 'not a url', tokenId: 'a@pve!b', tokenSecret: 'x' }])).toThrow(
      /config key 'clusters\.0\.url'/,
    );
    expect(() => new Clusters([{ id: 'lab1', url: 'https://h:8006', tokenId: 'a@pve!b' }], { env: {} })).toThrow(
      "config key 'clusters.0.tokenSecret': cluster 'lab1' has a tokenId but no secret; set tokenSecret, tokenSecretFile or LAB_CLUSTER_LAB1_TOKEN_SECRET",
    );
    expect(
      () => new Clusters([{ id: 'lab1', url: 'https://h:8006', tokenId: 'a@pve!b', tokenSecret: 'x', colour: 'red' }]),
    ).toThrow(ConfigError);
  });

  it('takes a secret from the environment', async () => {
    const clusters = new Clusters([{ id: 'lab-two', url: 'https://h:8006', tokenId: 'a@pve!b' }], {
      env: { LAB_CLUSTER_LAB_TWO_TOKEN_SECRET: 'from-env' },
    });
    expect(clusters.ids()).toEqual(['lab-two']);
    await clusters.close();
  });
});
