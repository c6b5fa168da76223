import { Controller, Get, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiExtraModels, ApiOkResponse, ApiProduces, ApiServiceUnavailableResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request, Response } from 'express';

import { Allow, Permission } from '@app/auth';

import { AuditService } from './audit.service.js';
import { AuditChainService } from './audit-chain.service.js';
import { AuditEntryView } from './audit-entry.view.js';
import { AuditFilterQueryDto, AuditPageDto, ChainHeadDto, ChainVerificationDto, ListAuditQueryDto } from './dto/audit.dto.js';

const BAD_FILTER = 'VALIDATION_FAILED: entityType, action, entityId (UUID), actorSub, from/to (ISO date-time with offset) or paging invalid';

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  private readonly logger = new Logger(AuditController.name);

  constructor(
    private readonly audit: AuditService,
    private readonly chain: AuditChainService,
  ) {}

  @Get()
  @Allow(Permission.AuditRead)
  @ApiOkResponse({ type: AuditPageDto, description: 'Matching entries in ascending seq' })
  @ApiBadRequestResponse({ description: BAD_FILTER })
  list(@Query() query: ListAuditQueryDto): Promise<AuditPageDto> {
    return this.audit.list(query);
  }

  @Get('export')
  @Allow(Permission.AuditRead)
  @ApiExtraModels(AuditEntryView)
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({
    description: 'Every matching entry (same filters as the list, no paging) in ascending seq, one AuditEntry JSON object per line, streamed in constant memory',
    content: { 'application/x-ndjson': { schema: { $ref: getSchemaPath(AuditEntryView) } } },
  })
  @ApiBadRequestResponse({ description: BAD_FILTER })
  async export(@Query() query: AuditFilterQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const batches = this.audit.export(query);
    try {
      // Read before the status line is sent, so that an early failure is still a problem+json answer.
      let next = await batches.next();
      res.status(200).setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
      try {
        while (!next.done && !res.destroyed) {
          const chunk = `${next.value.map((entry) => JSON.stringify(entry)).join('\n')}\n`;
          if (!res.write(chunk)) await drainedOrClosed(res);
          if (res.destroyed) break;
          next = await batches.next();
        }
        if (!res.destroyed) res.end();
      } catch (error) {
        // The status line is gone: cut the connection so the client cannot take a partial export for a whole one.
        this.logger.error({ err: error, requestId: req.requestId }, 'Audit export failed mid-stream');
        res.destroy();
      }
    } finally {
      await batches.return(undefined);
    }
  }

  @Get('verify')
  @Allow(Permission.AuditRead)
  @ApiOkResponse({
    type: ChainVerificationDto,
    description: 'Read-only: recomputes the hash chain (HMAC-SHA256 with AUDIT_HMAC_KEY when set) up to the sealed head and counts the entries above it (docs/audit.md)',
  })
  @ApiServiceUnavailableResponse({ description: 'SERVICE_UNAVAILABLE: the database is unreachable' })
  verify(): Promise<ChainVerificationDto> {
    return this.chain.verify();
  }

  @Get('head')
  @Allow(Permission.AuditRead)
  @ApiOkResponse({ type: ChainHeadDto, description: 'The last sealed entry\'s seq and chain hash, to be recorded outside the database (docs/audit.md)' })
  @ApiServiceUnavailableResponse({ description: 'SERVICE_UNAVAILABLE: the database is unreachable' })
  head(): Promise<ChainHeadDto> {
    return this.chain.head();
  }
}

/** Backpressure: resolves once the client has taken the buffered data, or has gone away. */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
