import { renderProgress, type ProgressUpdate } from '@lab/commands';

/** A progress update as Discord shows it: the shared text, cut to a message's 2000 characters. */
export function renderDiscordProgress(update: ProgressUpdate): string {
  return renderProgress(update).slice(0, 2000);
}
