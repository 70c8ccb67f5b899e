import type { DeploymentSummary, PublishPlan, ResetPlan } from '@lab/proxmox-sdk';
import type { ProgressUpdate, Reply } from './command-plugin.js';

/** A text progress bar: `cs101 ▓▓▓▓▓░░░ 7/11`. */
export function renderProgressBar(update: ProgressUpdate, width = 16): string {
  const filled =
    update.total <= 0 ? width : Math.min(width, Math.max(0, Math.round((update.done / update.total) * width)));
  return `${update.label} ${'▓'.repeat(filled)}${'░'.repeat(width - filled)} ${update.done}/${update.total}${update.note ? ` — ${update.note}` : ''}`;
}

const LISTED = 5;

/**
 * A command's progress as every front end shows it: the bar, then the clones under way with their
 * percentage and the VMs that failed so far (at most five of each, then a count):
 * `cs101 ▓▓▓▓▓░░░ 2/5 — cs101-bob`, `cloning cs101-carol 40%, cs101-dave`, `failed cs101-eve: …`.
 */
export function renderProgress(update: ProgressUpdate): string {
  const more = (count: number) => (count > LISTED ? ` and ${count - LISTED} more` : '');
  const cloning = update.cloning ?? [];
  const failed = update.failed ?? [];
  return [
    renderProgressBar(update),
    ...(cloning.length
      ? [
          `cloning ${cloning
            .slice(0, LISTED)
            .map((c) => (c.percent === undefined ? c.name : `${c.name} ${Math.floor(c.percent)}%`))
            .join(', ')}${more(cloning.length)}`,
        ]
      : []),
    ...failed.slice(0, LISTED).map((f) => `failed ${f.name ?? 'the deployment'}: ${f.reason}`),
    ...(failed.length > LISTED ? [`…${more(failed.length)} failed`] : []),
  ].join('\n');
}

/** A reply as plain text, fields included. */
export function renderReplyText(reply: Reply): string {
  const fields = (reply.fields ?? []).map((f) => `${f.label}: ${f.value}`);
  return [reply.text, ...fields].join('\n');
}

/**
 * How a deployment ended, as `/lab deploy` answers: `cs101: 10 created, 2 kept, 0 deleted in 41.2 s.`,
 * or the failures one per line. Front ends use it to finish a progress message after a restart.
 */
export function renderDeploymentSummary(summary: DeploymentSummary): string {
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const vm = (v: { name: string; vmid: number; node: string }) => `${v.name} (${v.vmid} on ${v.node})`;
  const lines = [
    ...summary.failed.map((f) => `failed ${f.name}: ${f.error}`),
    ...(summary.orphans ?? []).map(
      (v) => `not accounted for: ${vm(v)} carries the class's tags; check it, then adopt or delete it`,
    ),
    ...(summary.unregistered ?? []).map((v) => `not registered: ${vm(v)}`),
    ...(summary.duplicates ?? []).map((n) => `more than one VM is named ${n}`),
    ...(summary.removed ?? []).map((v) => `removed half-made ${vm(v)}`),
    ...((summary.unseated ?? []).length ? [`without a VM (no seat left): ${summary.unseated.join(', ')}`] : []),
    ...(summary.replanned ?? []).map(
      (m) => `${m.name} is on ${m.to} instead of ${m.from}: the base template could not be copied to ${m.from}`,
    ),
  ];
  const counts = `${summary.created} created, ${summary.kept} kept, ${summary.deleted} deleted`;
  const head =
    summary.status === 'done'
      ? `${summary.classId}: ${counts} in ${seconds} s.`
      : summary.status === 'interrupted'
        ? `${summary.classId}: another process took this deployment over after ${seconds} s (${counts} so far); it posts the result.`
        : `${summary.classId}: the cluster does not match the plan after ${seconds} s (${counts}); run the deploy again to retry what failed.`;
  return [head, ...lines].join('\n');
}

const isReset = (spec: unknown): spec is ResetPlan => (spec as { kind?: unknown } | null)?.kind === 'reset';
const isPublish = (spec: unknown): spec is PublishPlan => (spec as { kind?: unknown } | null)?.kind === 'publish';

/**
 * How a deployment of any kind ended, in the words of the command that started it: a reset names
 * the VMs it re-created (`cs101-alice (105) re-created from cs101-base-v2.`), a publish the version
 * it made, a class deployment its counts ({@link renderDeploymentSummary}); a failed one lists what
 * failed. Front ends finish a progress message with it, also after taking a deployment over.
 */
export function renderFinishedDeployment(deployment: { spec?: unknown }, summary: DeploymentSummary): string {
  const { spec } = deployment;
  if (summary.status !== 'done' || (!isReset(spec) && !isPublish(spec))) return renderDeploymentSummary(summary);
  if (isPublish(spec))
    return `${spec.name} published from ${spec.teacher.name}${spec.snapname ? ` (snapshot ${spec.snapname})` : ''}${spec.replicateTo.length ? `, copied to ${spec.replicateTo.join(', ')}` : ''}. Students keep their VMs; /lab rebuild ${spec.classId} or /myvm reset moves them to it.`;
  return `${spec.action === 'rebuild' ? `${spec.classId} rebuilt: ` : ''}${spec.vms.map((v) => `${v.name} (${v.vmid})`).join(', ')} re-created from ${spec.base.name}${spec.vms.some((v) => v.start) ? '; running ones were started again' : ''}.${summary.deleted ? ` ${summary.deleted} copy(ies) of an older template version no VM used any more were deleted.` : ''}`;
}
