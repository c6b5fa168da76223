import { type ValidationError, ValidationPipe } from '@nestjs/common';

import { type FieldError, ValidationFailedError } from './domain-error.js';
import { IS_TAG_LIST, tagListProblems } from './dto-transforms.js';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).flatMap(([constraint, message]) =>
      constraint === IS_TAG_LIST
        ? tagListProblems(error.value).map((problem) => ({ field: problem.index === undefined ? field : `${field}.${problem.index}`, message: problem.message }))
        : [{ field, message }],
    );
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** The 400 for field-level problems: `detail` lists them, `errors` carries them. */
export function validationFailed(fieldErrors: FieldError[]): ValidationFailedError {
  return new ValidationFailedError(fieldErrors.map((error) => `${error.field} ${error.message}`).join('; '), fieldErrors);
}

/** Whitelist + forbidNonWhitelisted + transform, with the contract's field-level 400s. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    // The value is kept for tag lists' element paths; it never reaches the response.
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => validationFailed(flatten(errors)),
  });
}
