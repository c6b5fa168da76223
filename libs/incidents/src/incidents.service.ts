import { Injectable } from '@nestjs/common';

import { AuditService } from '@app/audit';
import type { Actor } from '@app/auth';
import { NotFoundError } from '@app/common';
import { TransactionRunner } from '@app/database';
import { type Page, pageWindow, toPage } from '@app/http';

import type { CreateIncidentDto, ListIncidentsQueryDto } from './dto/incident.dto.js';
import { IncidentTransitionError } from './incident.errors.js';
import { type IncidentView, MANUAL_INCIDENT_TRANSITIONS, toIncidentView } from './incident.view.js';
import { IncidentsRepository } from './incidents.repository.js';

@Injectable()
export class IncidentsService {
  constructor(
    private readonly incidents: IncidentsRepository,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
  ) {}

  /** Idempotent on externalRef: a repeat returns the existing incident and `created: false`. */
  async create(actor: Actor, input: CreateIncidentDto): Promise<{ incident: IncidentView; created: boolean }> {
    return this.transactions.run(async (tx) => {
      const { row, created } = await this.incidents.insertOrFind(tx, {
        title: input.title,
        description: input.description ?? null,
        severity: input.severity,
        aiProposal: input.aiProposal,
        requiredExpertise: input.requiredExpertise ?? [],
        externalRef: input.externalRef ?? null,
      });
      const incident = toIncidentView(row);
      if (created) {
        await this.audit.record(tx, actor, {
          action: 'incident.created',
          entityType: 'incident',
          entityId: row.id,
          before: null,
          after: incident,
        });
      }
      return { incident, created };
    });
  }

  async list(query: ListIncidentsQueryDto): Promise<Page<IncidentView>> {
    const filter = { status: query.status, severity: query.severity };
    const total = await this.incidents.countMatching(filter);
    const window = pageWindow(total, query.page, query.pageSize);
    const rows = total === 0 ? [] : await this.incidents.listMatching(filter, window.offset, window.pageSize);
    return toPage(rows.map(toIncidentView), total, window);
  }

  async changeStatus(actor: Actor, id: string, status: 'analyzing' | 'resolved'): Promise<IncidentView> {
    return this.transactions.run(async (tx) => {
      const before = await this.incidents.lockById(tx, id);
      if (!before) throw new NotFoundError('Incident', id);
      const requiredFrom = MANUAL_INCIDENT_TRANSITIONS[status];
      if (before.status !== requiredFrom) {
        throw new IncidentTransitionError(id, before.status, status);
      }
      const after = await this.incidents.setStatus(tx, id, status);
      await this.audit.record(tx, actor, {
        action: 'incident.status_changed',
        entityType: 'incident',
        entityId: id,
        before: toIncidentView(before),
        after: toIncidentView(after),
      });
      return toIncidentView(after);
    });
  }
}
