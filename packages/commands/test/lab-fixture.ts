import { startTestLab, useTestLab, type TestLab, type TestLabCommands } from '@lab/proxmox-sdk/testing';

export { runningWindowsVm, testLabIds as ids } from '@lab/proxmox-sdk/testing';

type CommandsModule = typeof import('../src/index.js');
type Router = InstanceType<CommandsModule['CommandRouter']>;
type Services = ReturnType<CommandsModule['createLabServices']>;
type LabOfCommands = TestLab<Router, Services>;

/** This package's sources as the command layer of a test lab (typed structurally in the SDK). */
const asLabCommands = (commands: CommandsModule): TestLabCommands<Router, Services> => commands as unknown as TestLabCommands<Router, Services>;

/** The SDK's test lab over this package's sources; `options.store` replaces its memory store. */
export function lab(commands: CommandsModule, options: Parameters<typeof startTestLab>[1] = {}): Promise<LabOfCommands> {
  return startTestLab(asLabCommands(commands), options);
}

/** The lab of {@link lab} for one test file: opened before its tests, closed after them. */
export function useLab(commands: CommandsModule): () => LabOfCommands {
  return useTestLab(asLabCommands(commands));
}
