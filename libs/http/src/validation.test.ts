import type { ArgumentMetadata } from '@nestjs/common';
import { IsOptional } from 'class-validator';
import { describe, expect, it } from 'vitest';

import { ValidationFailedError } from '@app/common';

import { IsTagList, NormalizeTags, OptionalField, QueryBool, QueryInt } from './dto-transforms.js';
import { PageQueryDto } from './pagination.js';
import { createValidationPipe } from './validation.js';

class TagsBody {
  @OptionalField()
  @NormalizeTags()
  @IsTagList()
  tags?: string[];
}

class FilterQuery extends PageQueryDto {
  @IsOptional()
  @QueryBool()
  available?: boolean;

  @IsOptional()
  @NormalizeTags({ fromQuery: true })
  @IsTagList()
  expertise?: string[];

  @IsOptional()
  @QueryInt({ min: 1, max: 100, default: 10 })
  limit: number = 10;
}

const pipe = createValidationPipe();
const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });
const query = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'query', metatype });

/** The distinct fields named by the 400 (one field may fail several constraints). */
async function fieldErrors(value: unknown, metadata: ArgumentMetadata): Promise<string[]> {
  try {
    await pipe.transform(value, metadata);
  } catch (error) {
    if (error instanceof ValidationFailedError) return [...new Set((error.errors ?? []).map((fieldError) => fieldError.field))];
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(value)}`);
}

describe('validation pipe', () => {
  it('normalises tag lists: trimmed, lower-cased, de-duplicated in order (before the count is checked)', async () => {
    await expect(pipe.transform({ tags: [' Go', 'go', 'RUST '] }, body(TagsBody))).resolves.toEqual({ tags: ['go', 'rust'] });
    await expect(pipe.transform({ tags: Array.from({ length: 60 }, () => 'Go') }, body(TagsBody))).resolves.toEqual({ tags: ['go'] });
  });

  it('names the offending element of a tag list by its dotted path', async () => {
    expect(await fieldErrors({ tags: ['ok', ' ', 'x'.repeat(65), 4] }, body(TagsBody))).toEqual(['tags.1', 'tags.2', 'tags.3']);
    expect(await fieldErrors({ tags: ['Go', 'go', ''] }, body(TagsBody))).toEqual(['tags.2']);
    expect(await fieldErrors({ tags: 'go' }, body(TagsBody))).toEqual(['tags']);
    expect(await fieldErrors({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, body(TagsBody))).toEqual(['tags']);
    expect(await fieldErrors({ tags: null }, body(TagsBody))).toEqual(['tags']);
  });

  it('accepts 50 tags of 64 characters', async () => {
    const tags = Array.from({ length: 50 }, (_, i) => `${i}`.padStart(64, 'x'));
    await expect(pipe.transform({ tags }, body(TagsBody))).resolves.toEqual({ tags });
  });

  it('names unknown fields', async () => {
    expect(await fieldErrors({ tags: [], extra: 1 }, body(TagsBody))).toEqual(['extra']);
  });

  it('parses query integers and booleans strictly', async () => {
    await expect(
      pipe.transform({ page: '2', pageSize: '100', available: 'false', expertise: 'Go', limit: '1' }, query(FilterQuery)),
    ).resolves.toEqual(Object.assign(new FilterQuery(), { page: 2, pageSize: 100, available: false, expertise: ['go'], limit: 1 }));
    await expect(pipe.transform({}, query(FilterQuery))).resolves.toMatchObject({ page: 1, pageSize: 20, limit: 10 });
    for (const pageSize of ['0', '101', 'abc', '1.5', '', '+1', ' 1', '1e1', '-1']) {
      expect(await fieldErrors({ pageSize }, query(FilterQuery))).toEqual(['pageSize']);
    }
    for (const available of ['TRUE', '1', 'yes', '']) {
      expect(await fieldErrors({ available }, query(FilterQuery))).toEqual(['available']);
    }
    expect(await fieldErrors({ page: ['1', '2'] }, query(FilterQuery))).toEqual(['page']);
    expect(await fieldErrors({ expertise: ['go', ''] }, query(FilterQuery))).toEqual(['expertise.1']);
  });
});
