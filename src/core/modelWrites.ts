import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { isUniqueViolation } from '../store/db.ts';
import { isForeignKeyViolation } from '../store/flowAdmin.ts';

// Helpers shared by the admin writes of flows, stages and policies.

/**
 * The checks before a write catch duplicates and dangling references; a concurrent writer can
 * still slip between check and write, and the database's constraint then answers. Both are the
 * client's problem (400), never a 500.
 */
export async function translatingConflicts<T>(
  work: () => Promise<T>,
  onDuplicate: () => ValidationError,
  onMissing: () => ValidationError = () => ValidationError.field('non_field_errors', 'A referenced object no longer exists.'),
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw onDuplicate();
    if (isForeignKeyViolation(error)) throw onMissing();
    throw error;
  }
}

/** A zod error on a config object, in DRF's {field: ["message"]} shape. */
export function fieldErrorsOf(error: z.ZodError): ValidationError {
  // A Map: field names come from the client, and `constructor` or `__proto__` must stay names.
  const fields = new Map<string, string[]>();
  const add = (field: string, message: string) => {
    fields.set(field, [...(fields.get(field) ?? []), message]);
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') for (const key of issue.keys) add(key, 'Unknown field.');
    else add(typeof issue.path[0] === 'string' ? issue.path[0] : 'non_field_errors', issue.message);
  }
  return new ValidationError(Object.fromEntries(fields));
}

/** Config fields changed by a write, for the audit event (names only: values may be long). */
export const changedFields = (changes: Record<string, unknown>): string[] =>
  Object.entries(changes)
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key);
