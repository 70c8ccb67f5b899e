import type { Command } from 'commander';
import { globals, out } from '../global-options.js';

/** `lab doctor`: checks the installation end to end. */
export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check the installation end to end: configuration, store, clusters, TLS, PVE version, token privileges',
    )
    .action(async (_options, command: Command) => {
      const { runDoctor } = await import('../doctor.js');
      const { renderDoctorReport } = await import('@lab/commands');
      const flags = globals(command);
      const report = await runDoctor(flags.config);
      out(flags.json ? JSON.stringify(report) : renderDoctorReport(report));
      if (!report.ok) process.exitCode = 1;
    });
}
