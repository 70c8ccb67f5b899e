/** One line of the installation checklist. */
export interface DoctorCheck {
  /** What was checked: `configuration`, `store`, `cluster <id>`. */
  subject: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to do about a warning or failure: commands or config keys. */
  fix?: string[];
}

/** The checklist; `ok` is false when any check failed (warnings do not count). */
export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

/** A report of `checks`: ok unless one failed. */
export function doctorReport(checks: DoctorCheck[]): DoctorReport {
  return { ok: !checks.some((c) => c.status === 'fail'), checks };
}
