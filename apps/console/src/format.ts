import type { Priority, Review } from './api';

const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

/** Overdue first, then the highest priority, then the nearest deadline. */
export function byUrgency(a: Review, b: Review): number {
  return (
    Number(b.overdue) - Number(a.overdue) ||
    PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
    a.expectedCompletionAt.localeCompare(b.expectedCompletionAt)
  );
}

function duration(ms: number): string {
  const minutes = Math.max(1, Math.round(Math.abs(ms) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function timeLeft(review: Review, now = Date.now()): string {
  if (review.status === 'submitted') return 'waiting for a decision';
  if (review.status !== 'assigned' && review.status !== 'in_progress') return '';
  const left = Date.parse(review.expectedCompletionAt) - now;
  return left >= 0 ? `${duration(left)} left` : `overdue by ${duration(left)}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const label = (value: string): string => value.replace(/_/g, ' ');
