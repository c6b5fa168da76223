import { Injectable } from '@nestjs/common';

import type { StatementStep, Tx } from '@app/database';
import { type Page, pageWindow, toPage } from '@app/http';

import { AuditRepository } from './audit.repository.js';
import type { AuditActor, AuditFilter, AuditRecord } from './audit.types.js';
import { type AuditEntryView, toAuditEntryView } from './audit-entry.view.js';
import type { AuditFilterQueryDto, ListAuditQueryDto } from './dto/audit.dto.js';
import { keysetBatches } from './keyset.js';

const EXPORT_BATCH_SIZE = 1_000;

@Injectable()
export class AuditService {
  constructor(private readonly repository: AuditRepository) {}

  /** The one way any module records what it changed; always inside the change's own transaction. */
  record(tx: Tx, actor: AuditActor, ...records: AuditRecord[]): Promise<void> {
    return this.repository.append(tx, actor, records);
  }

  /** The same records as a step of the caller's combined statement (runSteps), saving a round trip. */
  recordStep(actor: AuditActor, ...records: [AuditRecord, ...AuditRecord[]]): StatementStep {
    return { name: 'audit', sql: this.repository.appendStep(actor, records), read: 'nothing' };
  }

  async list(query: ListAuditQueryDto): Promise<Page<AuditEntryView>> {
    const filter = toFilter(query);
    const total = await this.repository.countMatching(filter);
    const window = pageWindow(total, query.page, query.pageSize);
    const rows = total === 0 ? [] : await this.repository.listMatching(filter, window.offset, window.pageSize);
    return toPage(rows.map(toAuditEntryView), total, window);
  }

  /**
   * Every matching entry in ascending seq, one keyset batch at a time. The export ends at the
   * entry that was last when it began, so it terminates however fast new entries arrive.
   */
  async *export(query: AuditFilterQueryDto): AsyncGenerator<AuditEntryView[], void> {
    const filter = toFilter(query);
    const upTo = await this.repository.maxSeq();
    const batches = keysetBatches((after) => this.repository.matchingBetween(filter, after, upTo, EXPORT_BATCH_SIZE), EXPORT_BATCH_SIZE);
    for await (const rows of batches) yield rows.map(toAuditEntryView);
  }
}

function toFilter(query: AuditFilterQueryDto): AuditFilter {
  return {
    entityType: query.entityType,
    entityId: query.entityId,
    actorSub: query.actorSub,
    action: query.action,
    from: query.from === undefined ? undefined : new Date(query.from),
    to: query.to === undefined ? undefined : new Date(query.to),
  };
}
