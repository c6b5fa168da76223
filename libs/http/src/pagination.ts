import { IsOptional } from 'class-validator';

import { QueryInt } from './dto-transforms.js';

export class PageQueryDto {
  @IsOptional()
  @QueryInt({ min: 1, default: 1 })
  page: number = 1;

  @IsOptional()
  @QueryInt({ min: 1, max: 100, default: 20 })
  pageSize: number = 20;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export interface PageWindow {
  page: number;
  pageSize: number;
  totalPages: number;
  offset: number;
}

/** An empty result is page 1 of 1; a page past the end is clamped to the last page. */
export function pageWindow(total: number, requestedPage: number, pageSize: number): PageWindow {
  const totalPages = Math.max(1, Math.ceil(total / pageSize));
  const page = Math.min(requestedPage, totalPages);
  return { page, pageSize, totalPages, offset: (page - 1) * pageSize };
}

export function toPage<T>(items: T[], total: number, window: PageWindow): Page<T> {
  return { items, total, page: window.page, pageSize: window.pageSize, totalPages: window.totalPages };
}
