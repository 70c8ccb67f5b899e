import { DuplicateNameError } from '@lab/proxmox-sdk/errors';

/** Whether a database error is a unique / primary-key violation (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Whether a unique violation broke "one account per person per platform" (index `identities_person_platform`). */
export function violatesPersonPlatform(error: unknown): boolean {
  const e = error as { constraint?: unknown; message?: unknown };
  return (
    e?.constraint === 'identities_person_platform' ||
    (typeof e?.message === 'string' && e.message.includes('identities.person_id, identities.platform'))
  );
}

/** Whether a database error is a foreign-key violation (SQLite or PostgreSQL). */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Runs `write`; a unique-key violation becomes `DuplicateNameError(entity, name)`. */
export async function uniqueName<T>(entity: string, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateNameError(entity, name, { cause: error });
    throw error;
  }
}
