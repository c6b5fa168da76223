import { Inject, Injectable } from '@nestjs/common';

import { AuditService } from '@app/audit';
import { type Actor, Permission } from '@app/auth';
import { NotFoundError } from '@app/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { EngineerStatus, TransactionRunner, type Tx } from '@app/database';
import { type Page, pageWindow, toPage } from '@app/http';

import type { AvailableEngineersQueryDto, CreateEngineerDto, ListEngineersQueryDto, UpdateEngineerDto } from './dto/engineer.dto.js';
import { CapacityBelowOpenReviewsError, EmailDomainNotAllowedError, EngineerDeletedError } from './engineer.errors.js';
import { type EngineerRow, type EngineerView, toEngineerView } from './engineer.view.js';
import { type EngineerChanges, EngineersRepository } from './engineers.repository.js';

@Injectable()
export class EngineersService {
  constructor(
    private readonly engineers: EngineersRepository,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A taken email is decided by the unique index (EmailTakenError), not by a prior SELECT. */
  async create(actor: Actor, input: CreateEngineerDto): Promise<EngineerView> {
    this.checkEmailDomain(input.email);
    return this.transactions.run(async (tx) => {
      const row = await this.engineers.insert(tx, {
        name: input.name,
        email: input.email,
        expertise: input.expertise ?? [],
        maxConcurrentReviews: input.maxConcurrentReviews ?? 3,
        status: input.status ?? EngineerStatus.active,
      });
      const view = toEngineerView(row);
      await this.audit.record(tx, actor, {
        action: 'engineer.created',
        entityType: 'engineer',
        entityId: row.id,
        before: null,
        after: view,
      });
      return view;
    });
  }

  async list(query: ListEngineersQueryDto): Promise<Page<EngineerView>> {
    const filter = {
      status: query.status,
      available: query.available,
      expertise: query.expertise,
      includeDeleted: query.includeDeleted ?? false,
    };
    const total = await this.engineers.countMatching(filter);
    const window = pageWindow(total, query.page, query.pageSize);
    const rows = total === 0 ? [] : await this.engineers.listMatching(filter, window.offset, window.pageSize);
    return toPage(rows.map(toEngineerView), total, window);
  }

  async available(query: AvailableEngineersQueryDto): Promise<EngineerView[]> {
    const rows = await this.engineers.available(query.expertise ?? [], query.limit);
    return rows.map(toEngineerView);
  }

  /** Admins see any engineer (deleted too); an engineer sees only their own, non-deleted record. */
  async get(actor: Actor, id: string): Promise<EngineerView> {
    const row = await this.engineers.findById(id);
    if (!row || !this.mayRead(actor, row)) throw new NotFoundError('Engineer', id);
    return toEngineerView(row);
  }

  /** An engineer's own record; a deleted or unknown engineer is unknown (404). */
  async me(actor: Actor): Promise<EngineerView> {
    const row = actor.engineerId === null ? undefined : await this.engineers.findById(actor.engineerId);
    if (!row || row.deletedAt) throw new NotFoundError('Engineer', actor.sub);
    return toEngineerView(row);
  }

  /**
   * Applies the fields that differ from the stored engineer. A request that changes nothing answers
   * the engineer as it is, without a write or an audit entry.
   */
  async update(actor: Actor, id: string, input: UpdateEngineerDto): Promise<EngineerView> {
    return this.transactions.run(async (tx) => {
      // The row lock makes the capacity check and the write atomic: every assignment updates this
      // row, so it waits until we commit and then meets the new capacity (or we meet its count).
      const before = await this.lockExisting(tx, id);
      if (before.deletedAt) throw new EngineerDeletedError(id);
      const changes = changedFields(before, input);
      if (Object.keys(changes).length === 0) return toEngineerView(before);
      if (changes.maxConcurrentReviews !== undefined && changes.maxConcurrentReviews < before.currentReviewCount) {
        throw new CapacityBelowOpenReviewsError(id, before.currentReviewCount, changes.maxConcurrentReviews);
      }
      const after = await this.engineers.update(tx, id, changes);
      await this.audit.record(tx, actor, {
        action: 'engineer.updated',
        entityType: 'engineer',
        entityId: id,
        before: toEngineerView(before),
        after: toEngineerView(after),
      });
      return toEngineerView(after);
    });
  }

  async lockExisting(tx: Tx, id: string): Promise<EngineerRow> {
    const row = await this.engineers.lockById(tx, id);
    if (!row) throw new NotFoundError('Engineer', id);
    return row;
  }

  private mayRead(actor: Actor, row: EngineerRow): boolean {
    if (actor.can(Permission.EngineersReadAll)) return true;
    return actor.can(Permission.EngineersReadSelf) && row.id === actor.engineerId && row.deletedAt === null;
  }

  private checkEmailDomain(email: string): void {
    const allowed = this.config.allowedEmailDomains;
    const domain = email.split('@').pop() ?? '';
    if (allowed && !allowed.includes(domain)) throw new EmailDomainNotAllowedError(domain);
  }
}

function changedFields(current: EngineerRow, input: UpdateEngineerDto): EngineerChanges {
  const changes: EngineerChanges = {};
  if (input.name !== undefined && input.name !== current.name) changes.name = input.name;
  if (input.status !== undefined && input.status !== current.status) changes.status = input.status;
  if (input.maxConcurrentReviews !== undefined && input.maxConcurrentReviews !== current.maxConcurrentReviews) {
    changes.maxConcurrentReviews = input.maxConcurrentReviews;
  }
  const expertise = input.expertise;
  if (
    expertise !== undefined &&
    (expertise.length !== current.expertise.length || expertise.some((tag, index) => tag !== current.expertise[index]))
  ) {
    changes.expertise = expertise;
  }
  return changes;
}
