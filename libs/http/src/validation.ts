import { type ArgumentMetadata, type Type, type ValidationError, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';

import { type FieldError, ValidationFailedError } from '@app/common';

import { IS_TAG_LIST, tagListProblems } from './dto-transforms.js';
import { validationFailed } from './validation-errors.js';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).flatMap(([constraint, message]) =>
      constraint === IS_TAG_LIST
        ? tagListProblems(error.value).map((problem) => ({
            field: problem.index === undefined ? field : `${field}.${problem.index}`,
            message: problem.message,
          }))
        : [{ field, message }],
    );
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const declaredFields = new WeakMap<Type, Set<string>>();

/** The fields a DTO declares: every one carries at least one class-validator decorator. */
function fieldsOf(dto: Type): Set<string> {
  let fields = declaredFields.get(dto);
  if (!fields) {
    fields = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(dto, '', true, false)
        .map((meta) => meta.propertyName),
    );
    declaredFields.set(dto, fields);
  }
  return fields;
}

function queryNulErrors(query: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const visit = (value: unknown, field: string): void => {
    if (typeof value === 'string') {
      if (value.includes('\u0000')) errors.push({ field, message: 'must not contain U+0000' });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) visit(item, `${field}.${key}`);
    }
  };
  for (const [key, value] of Object.entries(query)) visit(value, key);
  return errors;
}

/**
 * Whitelist + forbidNonWhitelisted + transform, with the contract's field-level 400s, and what
 * class-validator cannot see or does slowly: a body that is not an object (Nest would validate `{}`
 * in place of null); keys the DTO does not declare, found here on the raw input, inherited names
 * (`toString`, `valueOf`, …: class-transformer skips those silently) included, and kept away from
 * class-transformer, whose per-key work grows with the square of the key count; U+0000 in query
 * values (PostgreSQL refuses it).
 */
class ContractValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype && this.toValidate(metadata) ? (metadata.metatype as Type) : undefined;
    if (!dto) return super.transform(value, metadata);
    if (metadata.type === 'body' && value !== undefined && !isPlainObject(value)) {
      throw new ValidationFailedError('The body must be a JSON object');
    }
    const input = isPlainObject(value) ? value : {};
    const fields = fieldsOf(dto);
    const keys = Object.keys(input);
    const unknown = keys.filter((key) => !fields.has(key)).map((key) => ({ field: key, message: `property ${key} should not exist` }));
    const nul = metadata.type === 'query' ? queryNulErrors(input) : [];
    const declared =
      unknown.length === 0 ? value : Object.fromEntries(keys.filter((key) => fields.has(key)).map((key) => [key, input[key]]));
    let found: FieldError[] = [];
    try {
      const transformed: unknown = await super.transform(declared, metadata);
      if (unknown.length === 0 && nul.length === 0) return transformed;
    } catch (error) {
      if (!(error instanceof ValidationFailedError)) throw error;
      found = error.errors ?? [];
    }
    throw validationFailed([...unknown, ...found, ...nul]);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new ContractValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    // The value is kept for tag lists' element paths; it never reaches the response.
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => new ValidationFailedError('', flatten(errors)),
  });
}
