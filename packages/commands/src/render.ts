import type { DeploymentSummary } from '@lab/proxmox-sdk';
import type { ProgressUpdate, Reply } from './command-plugin.js';

/** A text progress bar: `cs101 ▓▓▓▓▓░░░ 7/11`. */
export function renderProgressBar(update: ProgressUpdate, width = 16): string {
  const filled = update.total === 0 ? width : Math.round((update.done / update.total) * width);
  return `${update.label} ${'▓'.repeat(filled)}${'░'.repeat(width - filled)} ${update.done}/${update.total}${update.note ? ` — ${update.note}` : ''}`;
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
  const failed = summary.failed.map((f) => `${f.name}: ${f.error}`);
  return summary.status === 'done'
    ? `${summary.classId}: ${summary.created} created, ${summary.kept} kept, ${summary.deleted} deleted in ${seconds} s.`
    : `${summary.classId}: finished with ${failed.length} failure(s) after ${seconds} s:\n${failed.join('\n')}`;
}
