import { createHmac } from 'node:crypto';

/** Headers Slack would send with `body` at `timestampS`: for tests and tools that talk to the bot. */
export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestampS: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampS}:${body}`).digest('hex')}`;
  return {
    'x-slack-request-timestamp': String(timestampS),
    'x-slack-signature': signature,
    'content-type': 'application/x-www-form-urlencoded',
  };
}
