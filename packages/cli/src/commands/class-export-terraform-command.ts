import { Option, type Command } from 'commander';
import { globals, out } from '../global-options.js';
import { loadLabConfig } from '../lab-config.js';

/** `lab class export-terraform`: an operator's chore (it writes files), beside the generated `lab class …`. */
export function addTerraformExportCommand(program: Command): void {
  const klass = program.commands.find((c) => c.name() === 'class') ?? program.command('class').description('Classes');
  klass
    .command('export-terraform')
    .description(
      'Write a self-contained Terraform workspace (bpg/proxmox) for a class: --from plan deploys it, --from deployed adopts its VMs',
    )
    .argument('<class>', 'class id, e.g. cs101')
    .option('--out <dir>', 'the workspace directory (default: terraform/classes/<class>)')
    .addOption(
      new Option(
        '--from <source>',
        'plan (default for a class with no VMs) or deployed (import blocks for every VM)',
      ).choices(['plan', 'deployed']),
    )
    .option('--count <n>', 'with --from plan: student VMs (default: the enrolled students)')
    .option('--cluster <id>', "the cluster (default: the class template's)")
    .option(
      '--vmid-range <first-last>',
      'with --from plan: pin VMIDs from this range instead of letting Proxmox choose',
    )
    .action(
      async (
        classId: string,
        options: { out?: string; from?: 'plan' | 'deployed'; count?: string; cluster?: string; vmidRange?: string },
        command: Command,
      ) => {
        const flags = globals(command);
        const { runExportTerraform } = await import('../export-terraform-command.js');
        const config = loadLabConfig(flags.config);
        const result = await runExportTerraform(config, classId, options, flags.as ?? config.cli.defaultUser);
        out(
          flags.json
            ? JSON.stringify(result)
            : `wrote ${result.dir}: ${result.vms} VMs${result.imports ? `, ${result.imports} import blocks` : ''} (${result.files.join(', ')}); then: cd ${result.dir} && export PROXMOX_VE_API_TOKEN=… && terraform init && terraform plan`,
        );
      },
    );
}
