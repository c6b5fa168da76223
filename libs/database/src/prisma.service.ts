import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { DATABASE_OPTIONS, type DatabaseOptions } from './database.options.js';
import { PrismaClient } from './generated/prisma/client.js';
import { preparedStatementNames } from './prepared-statements.js';

/**
 * The one Prisma client of the process, on a node-postgres pool we own (so its usage can be
 * reported as metrics and the pool closed on shutdown).
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PrismaService.name);
  readonly pool: pg.Pool;

  constructor(@Inject(DATABASE_OPTIONS) options: DatabaseOptions) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax,
      connectionTimeoutMillis: 5_000,
      application_name: 'engineer-review-service',
      // A startup parameter, not a SET per transaction: bounds every lock wait at no round-trip cost.
      // PgBouncer refuses startup options: through it, TransactionRunner sets the timeout instead.
      ...(options.throughPooler ? {} : { options: `-c lock_timeout=${options.lockTimeoutMs}` }),
    });
    // A named statement lives in its server session: DATABASE_PREPARED_STATEMENTS is off where pool
    // connections share sessions (a transaction-mode pooler; the embedded database).
    const adapter = new PrismaPg(pool, options.preparedStatements ? { statementNameGenerator: preparedStatementNames() } : {});
    // 'minimal': without it (outside NODE_ENV=production) every query captures a stack trace for a
    // call site that only a failed query's message would show, a measurable part of each query's CPU.
    super({ adapter, errorFormat: 'minimal' });
    this.pool = pool;
    // An idle client that loses its server (e.g. PostgreSQL restart) must not crash the process.
    pool.on('error', (error) => this.logger.warn(`Idle database connection failed: ${error.message}`));
  }

  async onModuleInit(): Promise<void> {
    // The pg adapter connects lazily; probe once so a wrong URL is reported at start, not later.
    try {
      await this.$queryRaw`SELECT 1`;
    } catch (error) {
      this.logger.error(`Database not reachable at start: ${(error as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
