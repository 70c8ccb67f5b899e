import { describe, expect, it } from 'vitest';
import { asCliWording } from '../src/cli-wording.js';

describe('replies on the command line', () => {
  it('name commands as the CLI user types them, leaving paths, URLs and other words alone', () => {
    expect(asCliWording('cs101-alice is stopped; start it first with /myvm start.')).toBe(
      'cs101-alice is stopped; start it first with lab myvm start.',
    );
    expect(asCliWording('Name one student or --all: /lab reset cs101 alice, or /lab reset cs101 --all.')).toBe(
      'Name one student or --all: lab reset cs101 alice, or lab reset cs101 --all.',
    );
    expect(asCliWording('Students type: `/lab join ABC` (see /class invite, "/people add")')).toBe(
      'Students type: `lab join ABC` (see lab class invite, "lab people add")',
    );
    expect(asCliWording('/myvm keep\nwrote /tmp/lab/x.rdp; see https://h/lab/x and /labs or /mnt/myvm')).toBe(
      'lab myvm keep\nwrote /tmp/lab/x.rdp; see https://h/lab/x and /labs or /mnt/myvm',
    );
  });
});
