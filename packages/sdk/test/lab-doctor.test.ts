import { describe, expect, it } from 'vitest';
import { presets, startPveSim, type PveSim } from '@lab/pve-sim';
import { Clusters, LabDoctor } from '../src/index.js';
import { guestAgentPrivilege, labPrivilegeRequirements, missingPrivileges } from '../src/pve/index.js';
import { closeAfterEach } from './helpers.js';

const { track } = closeAfterEach();

/** A simulator of PVE `pveVersion` whose lab token `lab@pve!bot` (not separated) has the role `LabBot` = `privs` on `/`. */
async function simWith(pveVersion: string, privs: string[]): Promise<PveSim> {
  const scenario = { ...structuredClone(presets.small!), pveVersion };
  scenario.users = [...(scenario.users ?? []), { userid: 'lab@pve' }];
  scenario.tokens = [{ tokenId: 'lab@pve!bot', secret: 'bot-secret', privsep: false }];
  scenario.roles = [{ roleid: 'LabBot', privs }];
  scenario.acl = [{ path: '/', roles: 'LabBot', users: ['lab@pve'] }];
  return track(await startPveSim({ timeScale: 100, scenario, token: 'lab@pve!bot=bot-secret' }));
}

function clustersFor(sim: PveSim): Clusters {
  return track(
    new Clusters([
      { id: 'school', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
    ]),
  );
}

const EVERY_VM = [
  'VM.Clone',
  'VM.Allocate',
  'VM.Config.Disk',
  'VM.Config.CPU',
  'VM.Config.Memory',
  'VM.Config.Network',
  'VM.Config.Options',
  'VM.Config.Cloudinit',
  'VM.PowerMgmt',
  'VM.Audit',
  'Datastore.AllocateSpace',
  'Datastore.Audit',
  'SDN.Use',
  'Sys.Audit',
];

describe('the privilege table by PVE version (pve-access-control 9.0.2 replaced VM.Monitor)', () => {
  it('asks for VM.GuestAgent.Audit on 9 and VM.Monitor on 8 for address discovery, VM.Console only with consoles', () => {
    expect(guestAgentPrivilege('9.1.3')).toBe('VM.GuestAgent.Audit');
    expect(guestAgentPrivilege('8.4.1')).toBe('VM.Monitor');
    const on9 = labPrivilegeRequirements('9.0.0').flatMap((r) => r.privileges);
    expect(on9).toContain('VM.GuestAgent.Audit');
    expect(on9).not.toContain('VM.Monitor');
    expect(labPrivilegeRequirements('8.4.1').flatMap((r) => r.privileges)).toContain('VM.Monitor');
    expect(labPrivilegeRequirements('9.1.3').flatMap((r) => r.privileges)).not.toContain('VM.Console');
    expect(labPrivilegeRequirements('9.1.3', { console: true }).flatMap((r) => r.privileges)).toContain('VM.Console');
  });

  it('reads effective privileges the way PVE propagates them', () => {
    const needs = [{ path: '/vms', privileges: ['VM.Clone'], role: 'PVEVMAdmin', why: 'to clone' }];
    expect(missingPrivileges({ '/': { 'VM.Clone': 1 } }, needs)).toEqual([]);
    expect(missingPrivileges({ '/': { 'VM.Clone': 0 } }, needs)).toHaveLength(1);
    expect(missingPrivileges({ '/': { 'VM.Clone': 1 }, '/vms': { 'VM.Audit': 1 } }, needs)).toHaveLength(1);
    const sdn = [{ path: '/sdn/zones/localnetwork', privileges: ['SDN.Use'], role: 'PVESDNUser', why: 'bridges' }];
    expect(missingPrivileges({ '/sdn/zones/localnetwork/vmbr0': { 'SDN.Use': 1 } }, sdn)).toEqual([]);
    expect(missingPrivileges({}, labPrivilegeRequirements('9.1.3')).map((m) => m.role)).toEqual([
      'PVEVMAdmin',
      'PVEVMAdmin',
      'PVEDatastoreUser',
      'PVESDNUser',
      'PVEAuditor',
    ]);
  });
});

describe('LabDoctor against the simulator over HTTPS', () => {
  it('passes a PVE 9 token with VM.GuestAgent.Audit and names TLS, version and privileges', async () => {
    const sim = await simWith('9.1.3', [...EVERY_VM, 'VM.GuestAgent.Audit']);
    const report = await new LabDoctor({ clusters: clustersFor(sim) }).checkClusters();
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => `${c.status} ${c.subject} ${c.detail}`)).toEqual([
      `ok cluster school TLS: certificate pinned (${sim.fingerprint.slice(0, 11)}…)`,
      'ok cluster school reachable: Proxmox VE 9.1.3',
      'ok cluster school privileges: the token lab@pve!bot has every privilege Proxmox Lab needs',
    ]);
  });

  it('fails a PVE 9 token without VM.GuestAgent.Audit, naming the version and the pveum line', async () => {
    const sim = await simWith('9.1.3', EVERY_VM);
    const report = await new LabDoctor({ clusters: clustersFor(sim) }).checkClusters();
    expect(report.ok).toBe(false);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([
      {
        subject: 'cluster school',
        status: 'fail',
        detail:
          "privileges: the token lab@pve!bot lacks VM.GuestAgent.Audit on /vms, needed to read the VMs' addresses from the QEMU guest agent (Proxmox VE 9.1.3)",
        fix: [
          "pveum acl modify /vms --tokens 'lab@pve!bot' --roles PVEVMAdmin",
          '(a token with privilege separation also needs the same on its user lab@pve)',
        ],
      },
    ]);
  });

  it('asks a PVE 8 cluster for VM.Monitor instead, and VM.Console once consoles are served', async () => {
    const sim = await simWith('8.4.1', [...EVERY_VM, 'VM.Monitor']);
    const clusters = clustersFor(sim);
    expect((await new LabDoctor({ clusters }).checkClusters()).ok).toBe(true);
    const withConsole = await new LabDoctor({ clusters, console: true }).checkClusters();
    expect(withConsole.checks.filter((c) => c.status === 'fail').map((c) => c.detail)).toEqual([
      'privileges: the token lab@pve!bot lacks VM.Console on /vms, needed to open the VNC console of /myvm console links (Proxmox VE 8.4.1)',
    ]);
  });

  it('checks the SDN privileges only once a class of the cluster uses networks', async () => {
    const sim = await simWith('9.1.3', [...EVERY_VM, 'VM.GuestAgent.Audit', 'SDN.Audit']);
    const clusters = clustersFor(sim);
    expect((await new LabDoctor({ clusters }).checkClusters()).ok).toBe(true);
    const asked: string[] = [];
    const uses = async (id: string) => (asked.push(id), true);
    const report = await new LabDoctor({ clusters, networks: uses }).checkClusters();
    expect(asked).toEqual(['school']);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([
      {
        subject: 'cluster school',
        status: 'fail',
        detail:
          'privileges: the token lab@pve!bot lacks SDN.Allocate on /sdn, needed to build, apply and remove class networks (SDN zones, VNets, subnets) and attach VMs to them (Proxmox VE 9.1.3)',
        fix: [
          "pveum acl modify /sdn --tokens 'lab@pve!bot' --roles PVESDNAdmin",
          '(a token with privilege separation also needs the same on its user lab@pve)',
        ],
      },
    ]);
    const full = await simWith('9.1.3', [...EVERY_VM, 'VM.GuestAgent.Audit', 'SDN.Audit', 'SDN.Allocate']);
    expect((await new LabDoctor({ clusters: clustersFor(full), networks: true }).checkClusters()).ok).toBe(true);
  });

  it('fails a wrong secret with the fix that names the config keys', async () => {
    const sim = await simWith('9.1.3', EVERY_VM);
    const clusters = track(
      new Clusters([
        { id: 'school', url: sim.url, tokenId: sim.tokenId, tokenSecret: 'wrong', fingerprint: sim.fingerprint },
      ]),
    );
    const report = await new LabDoctor({ clusters }).checkClusters();
    expect(report.ok).toBe(false);
    expect(report.checks.at(-1)).toMatchObject({
      status: 'fail',
      fix: [expect.stringContaining('check clusters.0.tokenId and its secret')],
    });
  });
});
