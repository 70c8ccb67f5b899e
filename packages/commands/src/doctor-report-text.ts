import type { DoctorReport } from '@lab/proxmox-sdk';

/** The checklist as text: ✓ / ! / ✗ per line, each failure followed by what to do, then a verdict. */
export function renderDoctorReport(report: DoctorReport): string {
  const width = Math.max(0, ...report.checks.map((c) => c.subject.length));
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(
      `${check.status === 'ok' ? '✓' : check.status === 'warn' ? '!' : '✗'} ${check.subject.padEnd(width)}  ${check.detail}`,
    );
    (check.fix ?? []).forEach((fix, i) => lines.push(`  ${' '.repeat(width)}  ${i === 0 ? 'fix:' : '    '} ${fix}`));
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    failed
      ? `${failed} check(s) failed.`
      : warned
        ? `All checks passed, with ${warned} warning(s).`
        : 'All checks passed.',
  );
  return lines.join('\n');
}
