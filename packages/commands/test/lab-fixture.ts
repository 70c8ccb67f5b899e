import { beforeAll } from 'vitest';
import { startTestLab, testLabIds, useTestLab, type TestLab, type TestLabCommands } from '@lab/proxmox-sdk/testing';

export { runningWindowsVm, testLabIds as ids } from '@lab/proxmox-sdk/testing';

type CommandsModule = typeof import('../src/index.js');
type Router = InstanceType<CommandsModule['CommandRouter']>;
type Services = ReturnType<CommandsModule['createLabServices']>;
type LabOfCommands = TestLab<Router, Services>;

/** This package's sources as the command layer of a test lab (typed structurally in the SDK). */
const asLabCommands = (commands: CommandsModule): TestLabCommands<Router, Services> => commands;

/** The SDK's test lab over this package's sources; `options.store` replaces its memory store. */
export function lab(
  commands: CommandsModule,
  options: Parameters<typeof startTestLab>[1] = {},
): Promise<LabOfCommands> {
  return startTestLab(asLabCommands(commands), options);
}

/**
 * The lab of {@link lab} for one test file: opened before its tests, closed after them. With
 * `deploy` (`'cs101 2'`), cs101's teacher deploys that first, through the router.
 */
export function useLab(commands: CommandsModule, options: { deploy?: string } = {}): () => LabOfCommands {
  const current = useTestLab(asLabCommands(commands));
  const { deploy } = options;
  if (deploy) {
    beforeAll(async () => {
      const deployed = await current().router.invoke({
        platform: 'slack',
        userId: testLabIds.teacher,
        command: 'lab',
        text: `deploy ${deploy}`,
      });
      if (deployed.error) throw new Error(`deploy ${deploy} failed: ${deployed.text}`);
    });
  }
  return current;
}
