import { describe, expect, it } from 'vitest';
import { InsufficientCapacityError } from '../src/errors/index.js';
import type { NodeCapacity } from '../src/deploy/placement.js';
import { explainPlacement, placeVms } from '../src/deploy/placement.js';

const GiB = 1024 ** 3;
const node = (name: string, cpu: number, memUsedGiB: number, extra: Partial<NodeCapacity> = {}): NodeCapacity => ({
  node: name,
  online: true,
  cpu,
  maxcpu: 32,
  mem: memUsedGiB * GiB,
  maxmem: 128 * GiB,
  vmCount: 0,
  hasSource: true,
  ...extra,
});
const twoGiB = { vmMemory: 2 * GiB };

describe('node scoring and placement', () => {
  it('scores 0.6·CPU free + 0.4·memory free and explains exclusions', () => {
    const explained = explainPlacement(
      [
        node('pve1', 0.5, 64),
        node('pve2', 0.1, 32),
        node('pve3', 0, 0, { online: false }),
        node('pve4', 0, 0, { hasSource: false }),
      ],
      twoGiB,
    );
    expect(explained.map((n) => [n.node, n.score, n.excluded])).toEqual([
      ['pve4', 100, true],
      ['pve2', 84, false],
      ['pve1', 50, false],
      ['pve3', 0, true],
    ]);
    expect(explained.find((n) => n.node === 'pve3')?.reasons).toContain('offline');
    expect(explained.find((n) => n.node === 'pve4')?.reasons).toEqual(['template not on this node']);
    expect(explained.find((n) => n.node === 'pve2')?.fits).toBe(48);
  });

  it('honours configurable weights', () => {
    const nodes = [node('cpu-idle', 0, 120), node('mem-free', 0.9, 0)];
    expect(explainPlacement(nodes, { ...twoGiB, weights: { cpu: 1, memory: 0 } })[0]?.node).toBe('cpu-idle');
    expect(explainPlacement(nodes, { ...twoGiB, weights: { cpu: 0, memory: 1 } })[0]?.node).toBe('mem-free');
  });

  it('ranks then round-robins with the score strategy, and keeps within each node', () => {
    expect(placeVms(5, [node('a', 0.5, 0), node('b', 0.1, 0), node('c', 0.3, 0)], twoGiB)).toEqual([
      'b',
      'c',
      'a',
      'b',
      'c',
    ]);
  });

  it('packs the best node first, and spreads over the least loaded', () => {
    // b scores higher (idle CPU) but has room for only two 2 GiB VMs.
    const nodes = [node('a', 0.8, 0), node('b', 0, 124)];
    expect(explainPlacement(nodes, twoGiB).map((n) => [n.node, n.fits])).toEqual([
      ['b', 2],
      ['a', 64],
    ]);
    expect(placeVms(3, nodes, { ...twoGiB, strategy: 'pack' })).toEqual(['b', 'b', 'a']);
    expect(
      placeVms(4, [node('a', 0.5, 0, { vmCount: 2 }), node('b', 0.1, 0, { vmCount: 0 })], {
        ...twoGiB,
        strategy: 'spread',
      }),
    ).toEqual(['b', 'b', 'b', 'a']);
  });

  it('stops at maxVmsPerNode and at free memory', () => {
    expect(
      placeVms(4, [node('a', 0, 0, { vmCount: 9 }), node('b', 0.2, 122)], { ...twoGiB, maxVmsPerNode: 10 }),
    ).toEqual(['a', 'b', 'b', 'b']);
  });

  it('says how many fit where when a request is too big', () => {
    const error = (() => {
      try {
        placeVms(10, [node('a', 0, 122), node('b', 0, 0, { vmCount: 5 }), node('c', 0, 0, { online: false })], {
          ...twoGiB,
          maxVmsPerNode: 7,
        });
      } catch (e) {
        return e;
      }
    })() as InsufficientCapacityError;
    expect(error).toBeInstanceOf(InsufficientCapacityError);
    expect(error.message).toBe('10 VMs were asked for but only 5 fit: b 2, a 3, c 0 (offline)');
  });
});
