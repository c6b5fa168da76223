import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';

import { Problems, Public } from '@app/http';

import { MetricsTokenGuard } from './metrics-token.guard.js';

/** GET /metrics (at the root; PrometheusModule.register sets the path). */
@ApiTags('metrics')
@Public()
@UseGuards(MetricsTokenGuard)
@Controller()
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @ApiOperation({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: 'Open unless the service has a METRICS_TOKEN; then exactly `Authorization: Bearer <METRICS_TOKEN>` (a JWT is 401).',
  })
  @ApiProduces('text/plain')
  @ApiSecurity('metricsToken')
  @ApiSecurity({})
  @ApiOkResponse({
    description: 'Prometheus text exposition: process, HTTP, review lifecycle and scrape-time database gauges.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @Problems({ 401: ['UNAUTHENTICATED'] })
  async scrape(@Res({ passthrough: true }) res: FastifyReply): Promise<string> {
    const body = await this.registry.metrics();
    res.header('Content-Type', this.registry.contentType);
    res.header('Cache-Control', 'no-store');
    return body;
  }
}
