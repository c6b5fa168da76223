import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min, ValidateIf } from 'class-validator';

/** Trims strings before their length is checked; other types pass through to fail their own check. */
export const Trim = (): PropertyDecorator => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

export const TrimLowerCase = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));

/**
 * Expertise-style tag lists: each tag trimmed and lower-cased, duplicates removed in order. In a
 * query string a repeatable parameter given once arrives as a plain string.
 */
export const NormalizeTags = (options: { fromQuery?: boolean } = {}): PropertyDecorator =>
  Transform(({ value: raw }: { value: unknown }) => {
    const value = options.fromQuery && typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string')) return value;
    return [...new Set((value as string[]).map((tag) => tag.trim().toLowerCase()))];
  });

/** Query integers are digit strings only ("+1", "1.0", "" and "abc" stay strings and fail IsInt). */
export function QueryInt(options: { min: number; max?: number; default?: number; description?: string }): PropertyDecorator {
  const decorators = [
    ApiPropertyOptional({ type: Number, minimum: options.min, maximum: options.max, default: options.default, description: options.description }),
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
