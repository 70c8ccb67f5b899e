import { describe, expect, it } from 'vitest';
import { describeLastAction } from '../src/index.js';

const time = (at: number) => new Date(at).toISOString();

describe('describeLastAction', () => {
  it('says a stopped VM the lab never started (a new deployment’s) was not started yet, not stopped outside the lab', () => {
    expect(describeLastAction('stopped', undefined, time)).toBe('Not started by the lab yet.');
    expect(describeLastAction('running', undefined, time)).toBeUndefined();
  });

  it('still says a VM stopped outside the lab when the lab last started it', () => {
    const last = { action: 'vm.start', actor: 'alice', at: 0, cause: 'student' as const };
    expect(describeLastAction('stopped', last, time)).toMatch(/^Stopped outside the lab after it was started at /);
  });
});
