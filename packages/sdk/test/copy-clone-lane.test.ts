import { describe, expect, it } from 'vitest';
import { CopyCloneLane } from '../src/deploy/copy-clone-lane.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('CopyCloneLane', () => {
  it('lets one clone in at a time, the next once the one before leaves: first into the storage with the fewest copies, then the most students, then the first asked', async () => {
    const lane = new CopyCloneLane();
    const admitted: Array<{ name: string; leave: () => void }> = [];
    const ask = (name: string, targetStorage: string, students: number) =>
      lane.enter({ targetStorage, students }).then((leave) => admitted.push({ name, leave }));
    const all = [
      ask('a→pve2', 'pve2/local-lvm', 6),
      ask('a→pve5', 'pve5/local-lvm', 5),
      ask('b→pve2', 'pve2/local-lvm', 6),
      ask('a→pve3', 'pve3/local-lvm', 6),
      ask('b→pve5', 'pve5/local-lvm', 7),
    ];
    await tick();
    expect(admitted.map((a) => a.name)).toEqual(['a→pve2']);
    for (let i = 1; i < 5; i++) {
      const current = admitted.at(-1)!;
      current.leave();
      current.leave(); // a second leave lets no one more in
      await tick();
      expect(admitted).toHaveLength(i + 1);
    }
    await Promise.all(all);
    // pve2 has had one copy: b→pve2 waits for every storage that has had none, then goes before
    // a→pve5 (pve5 has had one by then too) for its sixth student.
    expect(admitted.map((a) => a.name)).toEqual(['a→pve2', 'b→pve5', 'a→pve3', 'b→pve2', 'a→pve5']);
  });
});
