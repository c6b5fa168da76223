import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { Registry } from 'prom-client';

import { Public } from '@app/auth';

import { MetricsTokenGuard } from './metrics-token.guard.js';

/** GET /metrics (at the root; PrometheusModule.register sets the path). */
@ApiTags('metrics')
@Public()
@UseGuards(MetricsTokenGuard)
@Controller()
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @ApiProduces('text/plain')
  @ApiBearerAuth()
  @ApiOkResponse({ description: 'Prometheus text exposition: process, HTTP, review lifecycle and scrape-time database gauges.' })
  @ApiUnauthorizedResponse({ description: 'UNAUTHENTICATED: METRICS_TOKEN is set and `Authorization: Bearer <METRICS_TOKEN>` is missing or wrong' })
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    const body = await this.registry.metrics();
    res.setHeader('Content-Type', this.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    return body;
  }
}
