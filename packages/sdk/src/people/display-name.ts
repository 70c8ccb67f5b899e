import { LabError } from '../errors/lab-error.js';

/** The longest display name the lab keeps, in characters (Unicode code points). */
export const DISPLAY_NAME_MAX = 200;

/** Line and paragraph breaks, tabs and other spacing controls: each becomes one space. */
const SPACING = /[\t\n\v\f\r\u0085\u2028\u2029]/g;
/**
 * Characters that are invisible or reorder what follows: C0/C1 controls, lone surrogates and every
 * format character (bidi embeddings, overrides and isolates, zero-width space, word joiner, BOM…)
 * but the zero-width (non-)joiner that some scripts and emoji sequences need.
 */
const INVISIBLE = /[\p{Cc}\p{Cs}]|(?![\u200c\u200d])\p{Cf}/gu;

/** A display name that is empty once cleaned, or longer than {@link DISPLAY_NAME_MAX}. */
export class InvalidDisplayNameError extends LabError {
  static override readonly code: string = 'LAB_INVALID_DISPLAY_NAME';
  constructor(facts: { reason: 'empty' | 'too-long'; length: number }) {
    super(
      InvalidDisplayNameError.code,
      facts.reason === 'empty'
        ? 'the name is empty once control and text-direction characters are removed; give a name with letters'
        : `the name has ${facts.length} characters; shorten it to at most ${DISPLAY_NAME_MAX}`,
      facts,
    );
  }
}

/**
 * A person's display name as the lab stores and shows it: Unicode NFC, line breaks and tabs as
 * spaces, control, bidi-override and other invisible format characters removed, runs of spaces
 * collapsed, trimmed. Every place a name enters the lab (roster, `people add`) goes through it.
 * @throws `InvalidDisplayNameError` when nothing is left or more than {@link DISPLAY_NAME_MAX} characters are
 */
export function cleanDisplayName(raw: string): string {
  // Counted before the work: a name of megabytes is refused without normalising it.
  if (raw.length > DISPLAY_NAME_MAX * 8)
    throw new InvalidDisplayNameError({ reason: 'too-long', length: [...raw].length });
  const clean = raw.normalize('NFC').replace(SPACING, ' ').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
  const length = [...clean].length;
  if (length === 0) throw new InvalidDisplayNameError({ reason: 'empty', length });
  if (length > DISPLAY_NAME_MAX) throw new InvalidDisplayNameError({ reason: 'too-long', length });
  return clean;
}
