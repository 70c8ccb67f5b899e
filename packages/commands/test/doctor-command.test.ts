import * as commands from '../src/index.js';
import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '@lab/proxmox-sdk';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands);

describe('/lab doctor (admins): the SDK LabDoctor through the router', () => {
  it('answers an admin with the checklist text and the report as data, and refuses a teacher', async () => {
    const { router } = current();
    const reply = await router.invoke({ platform: 'slack', userId: ids.admin, command: 'lab', text: 'doctor' });
    expect(reply.error, reply.text).toBeFalsy();
    expect(reply.ephemeral).toBe(true);
    expect(reply.text.split('\n')).toEqual([
      '✓ cluster lab  reachable: Proxmox VE 9.1.3',
      '✓ cluster lab  privileges: the token has every privilege Proxmox Lab needs',
      'All checks passed.',
    ]);
    expect((reply.data as DoctorReport).ok).toBe(true);
    const teacher = await router.invoke({ platform: 'slack', userId: ids.teacher, command: 'lab', text: 'doctor' });
    expect(teacher.error).toBe(true);
  });

  it('fails when the token lacks the guest-agent privilege PVE 9 needs, naming the version', async () => {
    const { router, sim } = current();
    const every = (names: string[]) => Object.fromEntries(names.map((n) => [n, 1 as const]));
    sim.auth.setPermissions({
      '/': every(['Sys.Audit', 'Datastore.Audit', 'VM.Audit']),
      '/vms': every([
        'VM.Allocate',
        'VM.Audit',
        'VM.Clone',
        'VM.Config.CPU',
        'VM.Config.Cloudinit',
        'VM.Config.Disk',
        'VM.Config.Memory',
        'VM.Config.Network',
        'VM.Config.Options',
        'VM.PowerMgmt',
      ]),
      '/storage': every(['Datastore.AllocateSpace', 'Datastore.Audit']),
      '/sdn/zones/localnetwork': every(['SDN.Use']),
    });
    try {
      const reply = await router.invoke({
        platform: 'cli',
        userId: 'ops',
        operator: true,
        command: 'lab',
        subcommand: 'doctor',
        options: {},
      });
      expect(reply.error).toBe(true);
      const report = reply.data as DoctorReport;
      expect(report.ok).toBe(false);
      expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.detail)).toEqual([
        "privileges: the token lacks VM.GuestAgent.Audit on /vms, needed to read the VMs' addresses from the QEMU guest agent (Proxmox VE 9.1.3)",
      ]);
      expect(reply.text.trimEnd().split('\n').at(-1)).toBe('1 check(s) failed.');
    } finally {
      sim.auth.setPermissions(undefined);
    }
  });
});
