import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, type HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';

import { DatabaseHealth } from '@app/database';
import { Draining, Problems, Public } from '@app/http';

import { shippedMigrations } from './migration-status.js';

const HEALTH_CHECKS = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/** @nestjs/terminus's result, kept as extension members of the 503 problem. */
const HEALTH_RESULT_MEMBERS = { info: HEALTH_CHECKS, error: HEALTH_CHECKS, details: HEALTH_CHECKS };

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly expectedMigrations = shippedMigrations();

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseHealth,
    private readonly draining: Draining,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness probe', description: 'The process is running; no database call.' })
  @ApiOkResponse({ description: 'The process is running (no database call).' })
  @Problems({ 503: ['SERVICE_UNAVAILABLE'] })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description: "The database answers and every shipped migration is applied; otherwise 503 problem+json carrying terminus's result.",
  })
  @ApiOkResponse({ description: 'The database answers and every shipped migration is applied.' })
  @Problems({ 503: ['SERVICE_UNAVAILABLE'] }, { members: { 503: HEALTH_RESULT_MEMBERS } })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.accepting(), () => this.reachable(), () => this.migrations()]);
  }

  /** Down from the moment the replica is asked to stop, so the load balancer sends it nothing new. */
  private accepting() {
    const indicator = this.indicators.check('shutdown');
    return this.draining.active ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }

  private async reachable() {
    const indicator = this.indicators.check('database');
    try {
      await this.database.ping();
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message.split('\n')[0] });
    }
  }

  private async migrations() {
    const indicator = this.indicators.check('migrations');
    try {
      const applied = await this.database.appliedMigrations();
      const pending = this.expectedMigrations.filter((name) => !applied.has(name));
      return pending.length === 0 ? indicator.up({ applied: applied.size }) : indicator.down({ pending });
    } catch (error) {
      return indicator.down({ message: (error as Error).message.split('\n')[0] });
    }
  }
}
