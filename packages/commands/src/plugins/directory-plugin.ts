import { z } from 'zod';
import { DirectoryNotConfiguredError } from '@lab/proxmox-sdk/errors';
import type { DirectorySyncReport, EnrolmentChange } from '@lab/proxmox-sdk';
import { subcommand, type CommandPlugin } from '../command-plugin.js';

const MAX_LINES = 60;

function describeChange(c: EnrolmentChange): string {
  switch (c.type) {
    case 'create-person':
      return `add ${c.username} (${c.displayName}${c.email ? ` <${c.email}>` : ''}) as ${c.role}`;
    case 'update-person':
      return `update ${c.username}:${c.displayName !== undefined ? ` name ${c.displayName}` : ''}${c.email !== undefined ? ` email ${c.email ?? '(none)'}` : ''}`;
    case 'raise-role':
      return `make ${c.username} ${c.to === 'admin' ? 'an admin' : `a ${c.to}`} (was ${c.from})`;
    case 'enrol':
      return `enrol ${c.username} in ${c.classId}${c.role === 'teacher' ? ' as teacher' : ''}`;
    case 'unenrol':
      return `unenrol ${c.username} from ${c.classId} (their VMs stay as free seats)`;
  }
}

function describeReport(r: DirectorySyncReport): string {
  const c = r.counts;
  const changes = r.plans.flatMap((p) => p.changes).map(describeChange);
  const total = changes.length;
  return [
    `${r.mode === 'dry-run' ? 'Dry run: the directory sync would make' : r.applied ? 'Directory sync made' : 'Directory sync found'} ${total} change(s) — ${c.created} new people, ${c.updated} updated, ${c.roles} role changes, ${c.enrolled} enrolments, ${c.unenrolled} unenrolments — from ${r.read.people} directory entries (nested groups: ${r.read.nesting}).`,
    ...changes.slice(0, MAX_LINES).map((l) => `  ${l}`),
    ...(total > MAX_LINES ? [`  … and ${total - MAX_LINES} more (--json lists them all)`] : []),
    ...(r.problems.length
      ? [
          `${r.problems.length} entr${r.problems.length === 1 ? 'y' : 'ies'} left out:`,
          ...r.problems.slice(0, 10).map((p) => `  ${p}`),
        ]
      : []),
    ...(r.notes.length ? [`${r.notes.length} note(s), e.g. ${r.notes.slice(0, 3).join('; ')}`] : []),
    ...(r.unenrolStop
      ? [
          `A sync would stop here: ${r.unenrolStop}`,
          'If these unenrolments are right, run lab directory sync --confirm-unenrol to make them.',
        ]
      : r.mode === 'dry-run' && total
        ? ['Run lab directory sync (without --dry-run) to make them.']
        : []),
  ].join('\n');
}

const when = (at: number | null, now: number): string => {
  if (at === null) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC (${s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`} ago)`;
};

/** `directory`: class lists from the school's LDAP / Active Directory (admins). */
export const directoryPlugin: CommandPlugin = {
  name: 'directory',
  description: "Sync people and class lists from the school's directory (admins)",
  subcommands: {
    sync: subcommand({
      description: 'Read the directory and enrol/unenrol by group (a dry run lists the changes only)',
      options: z.object({
        'dry-run': z.boolean().default(false).describe('only list the changes'),
        'confirm-unenrol': z
          .boolean()
          .default(false)
          .describe('go ahead even when a class would lose more than the configured share of its students'),
      }),
      positional: [],
      role: 'admin',
      async run(ctx, o) {
        const directory = ctx.services.directory;
        if (!directory?.configured) throw new DirectoryNotConfiguredError();
        const report = await directory.sync({ dryRun: o['dry-run'], confirmUnenrol: o['confirm-unenrol'] });
        return { text: describeReport(report), data: report };
      },
    }),
    status: subcommand({
      description: 'The last directory sync: when, what it changed, errors',
      options: z.object({}),
      positional: [],
      role: 'admin',
      ephemeral: true,
      async run(ctx) {
        const directory = ctx.services.directory;
        if (!directory) throw new DirectoryNotConfiguredError();
        const s = await directory.status();
        const now = ctx.services.clock.now();
        const last = s.lastRun;
        const lines = [
          s.configured
            ? `Directory: ${s.source}, synced every ${Math.round(s.intervalMs / 60_000)} min by lab serve.`
            : 'No directory server is configured (directory.ldap); only sign-in groups are mapped.',
          last
            ? `Last run: ${when(last.at, now)}, ${last.mode}, ${last.outcome === 'ok' ? 'ok' : last.outcome === 'denied' ? 'stopped before unenrolling' : 'failed'}${last.counts ? ` — ${last.counts.created} new, ${last.counts.updated} updated, ${last.counts.roles} roles, ${last.counts.enrolled} enrolled, ${last.counts.unenrolled} unenrolled` : ''}${last.people !== null ? ` from ${last.people} entries` : ''}${last.error ? `; ${last.error.code}: ${last.error.message}` : ''}`
            : 'Last run: never.',
          `Last successful sync: ${when(s.lastSuccessAt, now)}${s.failuresSinceSuccess ? `; ${s.failuresSinceSuccess} failed or stopped since — the lab works on the last known roster` : ''}.`,
          ...(s.running ? [`Running now in ${s.running.holder}.`] : []),
        ];
        return { text: lines.join('\n'), data: s, ephemeral: true };
      },
    }),
  },
};
