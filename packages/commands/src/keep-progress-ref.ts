import type { DeploymentEvent } from '@lab/proxmox-sdk';
import type { CommandContext } from './command-plugin.js';

/**
 * An event handler that keeps, with the deployment an event names, where the command's progress
 * message is (`ctx.notify`, which the front end completes once it has posted the message: Slack's
 * `ts`), so a process that takes the deployment over after a crash edits that message with the
 * outcome. It writes only when the reference changed since it last wrote.
 */
export function keepProgressRef(ctx: CommandContext): (event: DeploymentEvent) => void {
  let kept = JSON.stringify(ctx.notify ?? null);
  return (event) => {
    if (!ctx.notify || !('deploymentId' in event)) return;
    const current = JSON.stringify(ctx.notify);
    if (current === kept) return;
    kept = current;
    void ctx.services.engine
      .setNotify(event.deploymentId, { ...ctx.notify })
      .catch((error: unknown) => ctx.services.logger.warn('could not keep where the progress is shown', { error }));
  };
}

/**
 * What a command hands the engine when it applies a plan: where its progress is shown
 * (`ctx.notify`), and each event to `progress` and to `keepProgressRef`.
 */
export function progressRunOptions(
  ctx: CommandContext,
  progress: { onEvent(event: DeploymentEvent): void },
): { notify?: Record<string, unknown>; onEvent: (event: DeploymentEvent) => void } {
  const keep = keepProgressRef(ctx);
  return {
    ...(ctx.notify ? { notify: ctx.notify } : {}),
    onEvent: (event) => {
      progress.onEvent(event);
      keep(event);
    },
  };
}
