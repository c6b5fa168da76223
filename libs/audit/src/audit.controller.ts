import { Controller, Get, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { Allow, Permission } from '@app/auth';
import { drainedOrClosed } from '@app/http';

import { AuditService } from './audit.service.js';
import { AuditChainService } from './audit-chain.service.js';
import { AuditEntryView } from './audit-entry.view.js';
import { AuditFilterQueryDto, AuditPageDto, ChainHeadDto, ChainVerificationDto, ListAuditQueryDto } from './dto/audit.dto.js';

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
  @ApiOperation({ operationId: 'listAuditEntries', summary: 'List audit entries', description: 'Filtered and paged, in ascending seq.' })
  @ApiOkResponse({ type: AuditPageDto, description: 'Matching entries in ascending seq' })
  list(@Query() query: ListAuditQueryDto): Promise<AuditPageDto> {
    return this.audit.list(query);
  }

  @Get('export')
  @Allow(Permission.AuditRead)
  @ApiOperation({
    operationId: 'exportAuditEntries',
    summary: 'Export audit entries as NDJSON',
    description:
      'The same filters as the list, no paging: every matching entry in ascending seq, one JSON object per line, streamed in constant memory.',
  })
  @ApiExtraModels(AuditEntryView)
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({
    description:
      'Every matching entry (same filters as the list, no paging) in ascending seq, one AuditEntry JSON object per line, streamed in constant memory',
    content: { 'application/x-ndjson': { schema: { $ref: getSchemaPath(AuditEntryView) } } },
  })
  async export(@Query() query: AuditFilterQueryDto, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const batches = this.audit.export(query);
    try {
      // Read before the status line is sent, so that an early failure is still a problem+json answer.
      let next = await batches.next();
      // Streamed on the raw response: Fastify leaves a hijacked reply to the handler.
      const res = reply.hijack().raw;
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
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
        this.logger.error({ err: error, requestId: req.id }, 'Audit export failed mid-stream');
        res.destroy();
      }
    } finally {
      await batches.return(undefined);
    }
  }

  @Get('verify')
  @Allow(Permission.AuditRead)
  @ApiOperation({
    operationId: 'verifyAuditChain',
    summary: 'Verify the audit hash chain (read-only)',
    description:
      'Recomputes the hash chain (HMAC-SHA256 with AUDIT_HMAC_KEY when set) up to the sealed head and counts the entries above it; writes and seals nothing (docs/audit.md).',
  })
  @ApiOkResponse({ type: ChainVerificationDto, description: 'The chain as verified, and how many entries are not sealed yet' })
  verify(): Promise<ChainVerificationDto> {
    return this.chain.verify();
  }

  @Get('head')
  @Allow(Permission.AuditRead)
  @ApiOperation({
    operationId: 'getAuditHead',
    summary: 'The sealed head of the audit chain',
    description:
      "The last sealed entry's seq, chain hash and sealing time (nulls before the first seal), to be recorded outside the database (docs/audit.md).",
  })
  @ApiOkResponse({ type: ChainHeadDto, description: 'The sealed head' })
  head(): Promise<ChainHeadDto> {
    return this.chain.head();
  }
}
