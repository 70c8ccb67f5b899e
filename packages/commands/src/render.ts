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
