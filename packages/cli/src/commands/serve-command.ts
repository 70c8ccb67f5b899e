import { Argument, type Command } from 'commander';
import { globals, out } from '../global-options.js';
import { loadLabConfig } from '../lab-config.js';
import { labFrontEnds } from '../front-ends.js';

/** `lab serve <bot...>`: one or more front ends as one long-lived process. */
export function addServeCommand(program: Command): void {
  const servable = labFrontEnds.servableIds();
  program
    .command('serve')
    .description(
      'Run one or more front ends (lab serve slack discord) with the sync engine, /healthz, /readyz and /metrics; SIGTERM stops it gracefully (running commands get serve.drainSeconds to finish; a second SIGTERM exits at once). Prints one JSON line per front end when listening; logs JSON lines on stderr (LAB_LOG_LEVEL: debug, info, warn, error)',
    )
    .addArgument(new Argument('<bot...>', 'which front ends').choices(servable))
    .option(
      '--port <n>',
      'HTTP port, with one front end (default: its section’s port, e.g. slack.port, else 3000 for Slack and 3001 for Discord)',
    )
    .option(
      '--host <address>',
      'bind address (default: each front end’s host, e.g. slack.host, else 127.0.0.1; put an HTTPS reverse proxy in front)',
    )
    .action(async (kinds: string[], options: { port?: string; host?: string }, command: Command) => {
      const config = loadLabConfig(globals(command).config);
      const [{ serveBot }, { openLabRuntime }, { LabMetrics }, { createPinoLogger, configSecrets, logLevelFrom }] =
        await Promise.all([
          import('../serve-bot.js'),
          import('../lab-runtime.js'),
          import('../ops/lab-metrics.js'),
          import('../ops/pino-logger.js'),
        ]);
      const logger = createPinoLogger({
        level: logLevelFrom(process.env.LAB_LOG_LEVEL),
        secrets: configSecrets(config),
        bindings: { service: 'lab-serve', bot: kinds.join(' ') },
      });
      const metrics = new LabMetrics();
      const runtime = await openLabRuntime(config, {
        runSync: true,
        logger,
        observer: metrics.observer,
        onCommandFinished: metrics.commandFinished,
      });
      const served = await serveBot(runtime, kinds, {
        metrics,
        ...(options.port !== undefined ? { port: Number(options.port) } : {}),
        ...(options.host ? { host: options.host } : {}),
      });
      for (const { kind, url } of served.served) out(JSON.stringify({ serving: kind, url }));
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          logger.warn('second stop signal; exiting at once without waiting for running commands', { signal });
          process.exit(1);
        }
        stopping = true;
        logger.info('stopping: no new requests; waiting for running commands', {
          signal,
          drainSeconds: config.serve.drainSeconds,
        });
        void served.shutdown().then(() => process.exit(0));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
