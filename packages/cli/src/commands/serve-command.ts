import { Argument, type Command } from 'commander';
import { globals, out } from '../global-options.js';
import { loadLabConfig } from '../lab-config.js';
import type { ServedKind } from '../served-kind.js';

/** `lab serve <bot>`: one front end as a long-lived process. */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Run a bot or the web portal with the sync engine, /healthz, /readyz and /metrics; SIGTERM stops it gracefully. Prints one JSON line when listening; logs JSON lines on stderr (LAB_LOG_LEVEL: debug, info, warn, error)',
    )
    .addArgument(new Argument('<bot>', 'which front end').choices(['slack', 'discord', 'web']))
    .option(
      '--port <n>',
      'HTTP port (default: slack.port / discord.port / web.port, else 3000 for Slack, 3001 for Discord, 3002 for the web portal)',
    )
    .option(
      '--host <address>',
      'bind address (default: slack.host / discord.host / web.host, else 127.0.0.1; put an HTTPS reverse proxy in front)',
    )
    .action(async (kind: ServedKind, options: { port?: string; host?: string }, command: Command) => {
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
        bindings: { service: 'lab-serve', bot: kind },
      });
      const metrics = new LabMetrics();
      const runtime = await openLabRuntime(config, {
        runSync: true,
        logger,
        observer: metrics.observer,
        onCommandFinished: metrics.commandFinished,
      });
      const served = await serveBot(runtime, kind, {
        metrics,
        ...(options.port !== undefined ? { port: Number(options.port) } : {}),
        ...(options.host ? { host: options.host } : {}),
      });
      out(JSON.stringify({ serving: kind, url: served.url }));
      const stop = () => void served.shutdown().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
