import type pg from 'pg';

/**
 * What graphile-worker's get_job does when `worker` takes the job with this key, `lockedAgo` (an
 * interval) ago: the job (one attempt more) and its queue are locked by that worker. Returns how
 * many queues were locked: 1 when the job exists.
 */
export async function lockJobAs(sql: pg.Pool, key: string, worker: string, lockedAgo: string): Promise<number> {
  const { rowCount } = await sql.query(
    `WITH job AS (
       UPDATE graphile_worker._private_jobs SET locked_by = $1, locked_at = now() - $3::interval, attempts = attempts + 1
       WHERE key = $2 RETURNING job_queue_id)
     UPDATE graphile_worker._private_job_queues q SET locked_by = $1, locked_at = now() - $3::interval
     FROM job WHERE q.id = job.job_queue_id`,
    [worker, key, lockedAgo],
  );
  return rowCount ?? 0;
}
