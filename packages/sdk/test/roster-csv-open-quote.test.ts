import { describe, expect, it } from 'vitest';
import { parseRosterCsv } from '../src/people/roster-import.js';

describe('a roster CSV with a quote that is never closed', () => {
  it('names the line the quote opens on, not the line where the parser gave up', () => {
    const text = [
      'username,name,email,role,class',
      'st09,"Unclosed quote,st09@x,student,cs101',
      'st10,Upper,,student,cs101',
      'st11,Ok,,student,cs101',
      'st13,"Evil" x,,student,cs101',
    ].join('\n');
    const { rows, problems } = parseRosterCsv(`${text}\n`);
    expect(rows).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.line).toBe(2);
    expect(problems[0]!.message).toMatch(/runs on to line 5/);
  });

  it('names the opening line when the file ends inside the quote', () => {
    const { problems } = parseRosterCsv('username,name\nst09,"Unclosed\nst10,Upper\nst11,ok\n');
    expect(problems.map((p) => p.line)).toEqual([2]);
  });

  it('names the line of a stray quote on one line as before', () => {
    const { problems } = parseRosterCsv('username,name\nst01,a\nst02,"b"c\n');
    expect(problems.map((p) => p.line)).toEqual([3]);
    expect(problems[0]!.message).not.toMatch(/runs on/);
  });
});
