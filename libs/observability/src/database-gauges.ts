import { Injectable, Logger } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';

import { Prisma, PrismaService, type Tx } from '@app/database';

const OPEN_STATUSES = ['assigned', 'in_progress', 'submitted'];
const PRIORITIES = ['low', 'normal', 'high', 'critical'];
/** A scrape must not hang on a stuck database: past this, the read counts as failed. */
const READ_TIMEOUT_MS = 3_000;

interface DatabaseSnapshot {
  workload: { engineerId: string; count: number }[];
  open: { status: string; priority: string; count: number }[];
  overdue: number;
  outbox: { backlog: number; oldestAgeSeconds: number };
  auditUnsealedAgeSeconds: number;
  /** The value of each added reading, by gauge name. */
  readings: Map<string, number>;
}

/**
 * A gauge whose value a feature module computes (it owns the query), read in the scrape's snapshot.
 * Observability imports no feature module: the owner adds its reading at start.
 */
export interface DatabaseReading {
  name: string;
  help: string;
  read(tx: Tx): Promise<number>;
}

/**
 * Gauges read from the database at scrape time, so that every replica reports the same values.
 * The gauges of one scrape share one read: its aggregate queries, and the readings feature modules
 * add (addReading: workload drift, owned by reviews), in one REPEATABLE READ transaction (one
 * connection, one consistent snapshot). When the read fails, the gauges report
 * no series and database_up is 0; process and HTTP metrics are still served.
 */
@Injectable()
export class DatabaseGauges {
  private readonly logger = new Logger(DatabaseGauges.name);
  private inFlight?: Promise<DatabaseSnapshot | null>;
  private readonly readings: DatabaseReading[] = [];

  constructor(
    private readonly prisma: PrismaService,
    private readonly registry: Registry,
  ) {
    const registers = [registry];
    new Gauge({
      name: 'database_up',
      help: '1 when the scrape-time database read of this replica succeeded, else 0',
      registers,
      collect: this.collector((gauge, snapshot) => gauge.set(snapshot ? 1 : 0)),
    });
    new Gauge({
      name: 'engineer_current_workload',
      help: 'Open reviews per engineer (non-deleted engineers)',
      labelNames: ['engineer_id'],
      registers,
      collect: this.collector((gauge, snapshot) =>
        snapshot?.workload.forEach((row) => gauge.set({ engineer_id: row.engineerId }, row.count)),
      ),
    });
    new Gauge({
      name: 'reviews_open',
      help: 'Open reviews by status and priority',
      labelNames: ['status', 'priority'],
      registers,
      collect: this.collector((gauge, snapshot) => {
        if (!snapshot) return;
        for (const status of OPEN_STATUSES) for (const priority of PRIORITIES) gauge.set({ status, priority }, 0);
        snapshot.open.forEach((row) => gauge.set({ status: row.status, priority: row.priority }, row.count));
      }),
    });
    new Gauge({
      name: 'reviews_overdue',
      help: 'Reviews assigned or in progress past their expected completion time',
      registers,
      collect: this.collector((gauge, snapshot) => {
        if (snapshot) gauge.set(snapshot.overdue);
      }),
    });
    new Gauge({
      name: 'webhook_outbox_backlog',
      help: 'Webhook events not yet delivered',
      registers,
      collect: this.collector((gauge, snapshot) => {
        if (snapshot) gauge.set(snapshot.outbox.backlog);
      }),
    });
    new Gauge({
      name: 'webhook_outbox_oldest_age_seconds',
      help: 'Age of the oldest undelivered webhook event (0 when none)',
      registers,
      collect: this.collector((gauge, snapshot) => {
        if (snapshot) gauge.set(snapshot.outbox.oldestAgeSeconds);
      }),
    });
    new Gauge({
      name: 'audit_unsealed_oldest_age_seconds',
      help: 'Age of the oldest audit entry above the sealed head (0 when all are sealed); normally under 2 s',
      registers,
      collect: this.collector((gauge, snapshot) => {
        if (snapshot) gauge.set(snapshot.auditUnsealedAgeSeconds);
      }),
    });
    const pool = this.prisma.pool;
    new Gauge({
      name: 'db_pool_connections',
      help: "Connections of this replica's database pool: total, idle, and requests waiting for one",
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }

  /** A gauge read in every scrape's snapshot; when the read fails it reports no series, like the others. */
  addReading(reading: DatabaseReading): void {
    this.readings.push(reading);
    new Gauge({
      name: reading.name,
      help: reading.help,
      registers: [this.registry],
      collect: this.collector((gauge, snapshot) => {
        const value = snapshot?.readings.get(reading.name);
        if (value !== undefined) gauge.set(value);
      }),
    });
  }

  /**
   * A collect callback that fills its gauge from this scrape's snapshot. The gauge is reset first,
   * so series of engineers deleted since the last scrape, or of a failed read, disappear.
   */
  private collector<T extends string>(
    fill: (gauge: Gauge<T>, snapshot: DatabaseSnapshot | null) => void,
  ): (this: Gauge<T>) => Promise<void> {
    const snapshot = () => this.snapshot();
    return async function (this: Gauge<T>) {
      const current = await snapshot();
      this.reset();
      fill(this, current);
    };
  }

  /** The gauges of one scrape are collected concurrently; they all await the same read. */
  private snapshot(): Promise<DatabaseSnapshot | null> {
    this.inFlight ??= this.readWithTimeout().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async readWithTimeout(): Promise<DatabaseSnapshot | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.read(), timeout]);
    } catch (error) {
      this.logger.warn(`Scrape-time database read failed: ${(error as Error).message.split('\n')[0]}`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(): Promise<DatabaseSnapshot> {
    return this.prisma.$transaction(
      async (tx) => {
        const workload = await tx.$queryRaw<{ engineerId: string; count: number }[]>`
          SELECT id::text AS "engineerId", current_review_count AS count FROM engineers WHERE deleted_at IS NULL`;
        const open = await tx.$queryRaw<{ status: string; priority: string; count: number }[]>`
          SELECT status::text AS status, priority::text AS priority, count(*)::int AS count
          FROM reviews WHERE status IN ('assigned', 'in_progress', 'submitted')
          GROUP BY status, priority`;
        const [overdue] = await tx.$queryRaw<{ count: number }[]>`
          SELECT count(*)::int AS count FROM reviews
          WHERE status IN ('assigned', 'in_progress') AND expected_completion_at < now()`;
        const [outbox] = await tx.$queryRaw<{ backlog: number; oldestAgeSeconds: number }[]>`
          SELECT count(*)::int AS backlog,
                 coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS "oldestAgeSeconds"
          FROM webhook_events WHERE delivered_at IS NULL`;
        const [audit] = await tx.$queryRaw<{ ageSeconds: number }[]>`
          SELECT coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS "ageSeconds"
          FROM audit_entries WHERE seq > coalesce((SELECT max(seq) FROM audit_seals), 0)`;
        const readings = new Map<string, number>();
        for (const reading of this.readings) readings.set(reading.name, await reading.read(tx));
        return {
          workload,
          open,
          overdue: overdue?.count ?? 0,
          outbox: { backlog: outbox?.backlog ?? 0, oldestAgeSeconds: outbox?.oldestAgeSeconds ?? 0 },
          auditUnsealedAgeSeconds: audit?.ageSeconds ?? 0,
          readings,
        };
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: READ_TIMEOUT_MS },
    );
  }
}
