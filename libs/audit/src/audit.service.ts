import { Injectable } from '@nestjs/common';

import type { Tx } from '@app/database';

import { AuditRepository } from './audit.repository.js';
import type { AuditActor, AuditRecord } from './audit.types.js';

/** The one way any module records what it changed; always inside the change's own transaction. */
@Injectable()
export class AuditService {
  constructor(private readonly repository: AuditRepository) {}

  record(tx: Tx, actor: AuditActor, ...records: AuditRecord[]): Promise<void> {
    return this.repository.append(tx, actor, records);
  }
}
