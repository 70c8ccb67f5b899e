import { describe, expect, it } from 'vitest';
import { exportRosterCsv, importRoster } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';

describe('roster CSV exports and formulas', () => {
  it('write a name a spreadsheet would run as a formula as text, and read it back unchanged', async () => {
    const store = createMemoryStore();
    const name = '=HYPERLINK("http://evil.example","x")';
    await store.classes.createPerson({ username: 'st30', displayName: name, role: 'student' }, 1);
    await store.classes.createPerson({ username: 'st31', displayName: '-1.5', role: 'student' }, 1);
    await store.classes.createPerson({ username: 'st32', displayName: '@SUM(A1)', role: 'student' }, 1);
    const csv = await exportRosterCsv(store);
    const lines = csv.split('\r\n');
    expect(lines.find((l) => l.startsWith('st30,'))).toBe(
      `st30,"'=HYPERLINK(""http://evil.example"",""x"")",,student,,,`,
    );
    expect(lines.find((l) => l.startsWith('st31,'))).toBe('st31,-1.5,,student,,,');
    expect(lines.find((l) => l.startsWith('st32,'))).toBe("st32,'@SUM(A1),,student,,,");
    const fresh = createMemoryStore();
    const report = await importRoster({ store: fresh }, csv, { apply: true });
    expect(report.problems).toEqual([]);
    expect((await fresh.classes.getPersonByUsername('st30'))?.displayName).toBe(name);
    expect((await fresh.classes.getPersonByUsername('st32'))?.displayName).toBe('@SUM(A1)');
    expect(await exportRosterCsv(fresh)).toBe(csv);
  });
});
