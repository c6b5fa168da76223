import { type FieldError, ValidationFailedError } from '@app/common';

/** The contract lists at most this many field errors; `detail` says how many more failed. */
export const MAX_FIELD_ERRORS = 20;
const MAX_FIELD_LENGTH = 100;
const MAX_MESSAGE_LENGTH = 200;

/**
 * A key as the client sent it, made safe to answer and to store: U+0000 written out (PostgreSQL's
 * jsonb refuses it) and shortened, so that a 400 stays small however long the keys sent.
 */
function printable(text: string, maxLength: number): string {
  const escaped = text.replaceAll('\u0000', '\\u0000');
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength)}…` : escaped;
}

export const fieldName = (field: string): string => printable(field, MAX_FIELD_LENGTH);

/** The 400 for field-level problems: `errors` lists the first 20 of `total`, `detail` repeats them and counts the rest. */
export function validationFailed(fieldErrors: FieldError[], total = fieldErrors.length): ValidationFailedError {
  const listed = fieldErrors
    .slice(0, MAX_FIELD_ERRORS)
    .map(({ field, message }) => ({ field: fieldName(field), message: printable(message, MAX_MESSAGE_LENGTH) }));
  const more = total - listed.length;
  const detail = listed.map(({ field, message }) => `${field} ${message}`).join('; ') + (more > 0 ? `; and ${more} more` : '');
  return new ValidationFailedError(detail, listed);
}
