import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { resolve } from 'node:path';

/** The `lab` command as npm links it (`bin/lab.mjs`, which runs the build in dist/). */
export const labBin = resolve(import.meta.dirname, '../bin/lab.mjs');

/** What one `lab` process printed and how it exited. */
export interface LabRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a fresh shell would give `lab`: this process's, without any `LAB_*` or bot
 * secrets that could leak in from the developer's shell, plus `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(LAB_|SLACK_|DISCORD_)/.test(k)),
  ) as Record<string, string>;
  return { ...env, ...extra };
}

/** Runs `lab args…` as a real process in `cwd` and waits for it to exit. */
export function runLab(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<LabRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [labBin, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', (error) => done({ code: null, stdout, stderr: String(error) }));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** Starts a long-running `lab` process (sim, serve) and resolves with it and its first stdout line, parsed. */
export function startLab<T>(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ child: ChildProcess; first: T }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [labBin, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.stdout.on('data', (c) => {
      stdout += c;
      const newline = stdout.indexOf('\n');
      if (newline >= 0) done({ child, first: JSON.parse(stdout.slice(0, newline)) as T });
    });
    child.on('exit', (code) => fail(new Error(`lab ${args.join(' ')} exited ${code}: ${stderr}`)));
  });
}

/** Stops a process started with `startLab` (SIGTERM) and waits for it to exit. */
export function stopLab(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}

/**
 * Posts a slash command to a `lab serve slack` at `url`, signed with `signingSecret` as Slack signs it;
 * resolves with the HTTP status of the immediate answer.
 */
export function postSlackCommand(url: string, signingSecret: string, fields: Record<string, string>): Promise<number> {
  const body = new URLSearchParams(fields).toString();
  const ts = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/slack/events`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': signature,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
