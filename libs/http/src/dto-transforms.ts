import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min, registerDecorator, ValidateIf } from 'class-validator';

/** Trims strings before their length is checked; other types pass through to fail their own check. */
export const Trim = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

export const TrimLowerCase = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));

/**
 * Expertise-style tag lists: each tag trimmed and lower-cased, duplicates removed in order. In a
 * query string a repeatable parameter given once arrives as a plain string. A list with an invalid
 * element is not de-duplicated, so that error paths (`expertise.2`) point at the element as sent.
 */
export const NormalizeTags = (options: { fromQuery?: boolean } = {}): PropertyDecorator =>
  Transform(({ value: raw }: { value: unknown }) => {
    const value = options.fromQuery && typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(value)) return value;
    const normalised = value.map((tag: unknown) => (typeof tag === 'string' ? tag.trim().toLowerCase() : tag));
    return normalised.every(isValidTag) ? [...new Set(normalised)] : normalised;
  });

/** Query integers are digit strings only ("+1", "1.0", "" and "abc" stay strings and fail IsInt). */
export function QueryInt(options: { min: number; max?: number; default?: number; description?: string }): PropertyDecorator {
  const decorators = [
    ApiPropertyOptional({
      type: Number,
      minimum: options.min,
      maximum: options.max,
      default: options.default,
      description: options.description,
    }),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value)),
    IsInt({ message: 'must be an integer' }),
    Min(options.min),
  ];
  if (options.max !== undefined) decorators.push(Max(options.max));
  return applyDecorators(...decorators);
}

/** Query booleans are exactly "true" or "false". */
export function QueryBool(description?: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: Boolean, description }),
    Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value)),
    IsBoolean({ message: 'must be true or false' }),
  );
}

/**
 * Optional body field that may be omitted but not sent as null (IsOptional would accept null).
 * Only description, externalRef, analysis and confidence accept null, with IsOptional.
 */
export const OptionalField = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** The contract's limits for tag lists (`expertise`, `requiredExpertise`): 0–50 tags of 1–64 chars. */
export const TAG_LIST_LIMITS = { maxItems: 50, maxLength: 64 } as const;
export const IS_TAG_LIST = 'isTagList';

function isValidTag(tag: unknown): tag is string {
  return typeof tag === 'string' && tag.length >= 1 && tag.length <= TAG_LIST_LIMITS.maxLength;
}

export interface TagListProblem {
  /** The offending element, or undefined when the list as a whole is wrong. */
  index?: number;
  message: string;
}

/** What is wrong with a (normalised) tag list; empty when it is valid. */
export function tagListProblems(value: unknown): TagListProblem[] {
  if (!Array.isArray(value)) return [{ message: 'must be an array of strings' }];
  if (value.length > TAG_LIST_LIMITS.maxItems) return [{ message: `must contain at most ${TAG_LIST_LIMITS.maxItems} tags` }];
  return value.flatMap((tag: unknown, index): TagListProblem[] => {
    if (isValidTag(tag)) return [];
    return [{ index, message: typeof tag === 'string' ? `must be 1–${TAG_LIST_LIMITS.maxLength} characters` : 'must be a string' }];
  });
}

/**
 * A tag list within the contract's limits. The validation pipe reports element problems under
 * their dotted path (`expertise.2`), which `each: true` validators cannot do.
 */
export const IsTagList = (): PropertyDecorator => (target, propertyName) =>
  registerDecorator({
    name: IS_TAG_LIST,
    target: target.constructor,
    propertyName: String(propertyName),
    validator: {
      validate: (value: unknown) => tagListProblems(value).length === 0,
      defaultMessage: (args) =>
        tagListProblems(args?.value)
          .map((problem) => problem.message)
          .join('; '),
    },
  });
