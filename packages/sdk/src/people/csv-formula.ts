/** A cell a spreadsheet would run as a formula: it starts with `=`, `+`, `-`, `@`, a tab or a carriage return. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A number such as `-1.5` (hours over a quota): a spreadsheet reads it as the number it is. */
const PLAIN_NUMBER = /^[+-]?\d+(\.\d+)?$/;

/**
 * A cell as CSV exports write it: one a spreadsheet would run as a formula (a name such as
 * `=HYPERLINK(…)` from a roster or the directory) gets a leading `'`, so it opens as text.
 */
export function neutraliseFormula(value: string): string {
  return FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
}

/** The value an export neutralised, as it was: the import reads its own exports back unchanged. */
export function restoreFormula(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}
