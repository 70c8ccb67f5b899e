/**
 * A failure `lab` reports as one line on stderr (`lab: …`), then `details` (lines the reader needs,
 * such as the VMs a confirmation is about), before exiting with `exitCode`.
 */
export class LabExit extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}
