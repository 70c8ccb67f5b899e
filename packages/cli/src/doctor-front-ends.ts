import type { DoctorCheck } from './doctor.js';
import type { LabConfig } from './lab-config.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const SNOWFLAKE = /^\d{17,20}$/;

/**
 * The front ends' settings, read from the configuration alone (nothing is sent to Slack or
 * Discord): what `lab serve slack|discord` needs for its mode, the shape of each token and key, and
 * `console.publicUrl`. Sections that are not configured are not checked.
 */
export function checkFrontEnds(config: LabConfig): DoctorCheck[] {
  return [
    ...(config.slack ? [checkSlack(config.slack)] : []),
    ...(config.discord ? [checkDiscord(config.discord)] : []),
    ...(config.console?.publicUrl ? [checkConsoleUrl(config.console.publicUrl)] : []),
  ];
}

function checkSlack(slack: NonNullable<LabConfig['slack']>): DoctorCheck {
  const subject = 'slack';
  const mode = slack.socketMode ? 'Socket Mode' : 'HTTP (/slack/events)';
  const problems: string[] = [];
  const fix: string[] = [];
  if (!slack.botToken) {
    problems.push('no bot token');
    fix.push('set slack.botToken or SLACK_BOT_TOKEN (Bot User OAuth Token, xoxb-…)');
  } else if (!slack.botToken.startsWith('xoxb-')) {
    problems.push('the bot token does not start with xoxb-');
    fix.push("use the app's Bot User OAuth Token (OAuth & Permissions), which starts with xoxb-");
  }
  if (!slack.signingSecret) {
    problems.push('no signing secret');
    fix.push("set slack.signingSecret or SLACK_SIGNING_SECRET (the app's Basic Information → Signing Secret)");
  } else if (!/^[0-9a-f]{32}$/.test(slack.signingSecret)) {
    problems.push('the signing secret is not 32 hexadecimal characters');
    fix.push("copy the Signing Secret from the app's Basic Information page (not the client secret or a token)");
  }
  if (slack.socketMode && !slack.appToken?.startsWith('xapp-')) {
    problems.push(slack.appToken ? 'the app token does not start with xapp-' : 'Socket Mode needs an app token');
    fix.push('set slack.appToken to an app-level token with connections:write (xapp-…), or socketMode: false');
  }
  return problems.length
    ? { subject, status: 'fail', detail: `${mode}: ${problems.join('; ')}`, fix }
    : {
        subject,
        status: 'ok',
        detail: `${mode}: bot token, signing secret${slack.socketMode ? ', app token' : ''} set`,
      };
}

function checkDiscord(discord: NonNullable<LabConfig['discord']>): DoctorCheck {
  const subject = 'discord';
  const mode = discord.mode === 'gateway' ? 'gateway' : 'HTTP interactions';
  const problems: string[] = [];
  const fix: string[] = [];
  if (!discord.applicationId || !SNOWFLAKE.test(discord.applicationId)) {
    problems.push(discord.applicationId ? 'the application id is not a Discord id' : 'no application id');
    fix.push('set discord.applicationId to the Application ID of the developer portal (17–20 digits)');
  }
  if (discord.mode === 'http') {
    if (!discord.publicKey) {
      problems.push('no public key');
      fix.push("set discord.publicKey or DISCORD_PUBLIC_KEY (the application's Public Key)");
    } else if (!/^[0-9a-f]{64}$/i.test(discord.publicKey)) {
      problems.push('the public key is not 64 hexadecimal characters');
      fix.push("copy the application's Public Key (General Information), not the bot token");
    }
  } else if (!discord.token) {
    problems.push('gateway mode needs the bot token');
    fix.push('set discord.token or DISCORD_TOKEN (Bot → Reset Token)');
  }
  if (discord.mode === 'http' && !discord.token)
    return problems.length
      ? { subject, status: 'fail', detail: `${mode}: ${problems.join('; ')}`, fix }
      : {
          subject,
          status: 'warn',
          detail: `${mode}: no bot token, so this process sends no Discord DMs (idle and quota warnings, ready notices)`,
          fix: ['set discord.token or DISCORD_TOKEN to send DMs'],
        };
  return problems.length
    ? { subject, status: 'fail', detail: `${mode}: ${problems.join('; ')}`, fix }
    : {
        subject,
        status: 'ok',
        detail: `${mode}: application id, ${discord.mode === 'http' ? 'public key, ' : ''}bot token set`,
      };
}

function checkConsoleUrl(publicUrl: string): DoctorCheck {
  const url = new URL(publicUrl);
  if (url.protocol === 'https:')
    return { subject: 'console', status: 'ok', detail: `links are served at ${url.origin}/console/…` };
  if (LOOPBACK.has(url.hostname))
    return {
      subject: 'console',
      status: 'warn',
      detail: `console.publicUrl ${url.origin} is plain HTTP on loopback: fine for a test on this machine only`,
      fix: ['set console.publicUrl to the https:// address of the reverse proxy'],
    };
  return {
    subject: 'console',
    status: 'fail',
    detail: `console.publicUrl ${url.origin} is plain HTTP: console links and their sessions would cross the network in clear text`,
    fix: ['set console.publicUrl to the https:// address of the reverse proxy (see the README, Browser console)'],
  };
}
