import { describe, expect, it } from 'vitest';
import { startPveSim } from '@lab/pve-sim';
import { setLabDefinition } from '../src/deploy/lab-definition.js';
import { TerraformExportError } from '../src/errors/index.js';
import { describeTerraformWorkspace } from '../src/terraform/index.js';
import { labOver } from './deployment-fixture.js';

describe('the Terraform export of a class with several VMs per student', () => {
  it('is refused, naming each role and its sizes, the networks, and what to run instead', async () => {
    const sim = await startPveSim({ timeScale: 200, pveVersion: '9.1.3' });
    const lab = await labOver(sim);
    try {
      // Without roles the same class is described (so the refusal below is the roles').
      await expect(describeTerraformWorkspace(lab, { classId: 'cs101', from: 'deployed' })).rejects.toThrow(
        /has no deployed VMs/,
      );
      await setLabDefinition(
        { store: lab.store, catalog: lab.catalog, clock: { now: () => Date.now() } as never },
        {
          classId: 'cs101',
          roles: [
            { name: 'attacker', template: 'ubuntu' },
            { name: 'target', template: 'ubuntu', cores: 2, memory: 4096 },
          ],
          network: { mode: 'student', internet: 'none' },
          actor: 'teacher',
        },
      );
      for (const from of ['plan', 'deployed'] as const) {
        const refused = await describeTerraformWorkspace(lab, { classId: 'cs101', from }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(TerraformExportError);
        expect((refused as TerraformExportError).message).toBe(
          'Class cs101 gives each student several VMs (attacker=ubuntu target=ubuntu:2:4096) and its private networks (one per student) on Proxmox SDN; the Terraform module declares one template and one VM per student, so it cannot express them. Deploy and scale it with `lab deploy cs101 <seats>` (one deployment per role, networks first), which the lab keeps crash-safe; Terraform export works for classes without roles.',
        );
        expect((refused as TerraformExportError).data).toMatchObject({
          roles: ['attacker', 'target'],
          network: 'student',
        });
      }
    } finally {
      await lab.api.close();
      await sim.close();
    }
  }, 60_000);
});
