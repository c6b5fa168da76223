import { Injectable } from '@nestjs/common';

import { PrismaService } from './prisma.service.js';

/** What readiness asks of the database: does it answer, and which migrations has it applied. */
@Injectable()
export class DatabaseHealth {
  constructor(private readonly prisma: PrismaService) {}

  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }

  /** Names of the migrations applied and not rolled back. */
  async appliedMigrations(): Promise<Set<string>> {
    const rows = await this.prisma.$queryRaw<{ migration_name: string }[]>`
      SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
    return new Set(rows.map((row) => row.migration_name));
  }
}
