import { Injectable } from '@nestjs/common';

import { type Approach, type IncidentStatus, Prisma, PrismaService, type Severity, type Tx } from '@app/database';

import type { IncidentRow } from './incident.view.js';

type Db = Tx | PrismaService;

const COLUMNS = Prisma.sql`i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"`;

export interface NewIncident {
  title: string;
  description: string | null;
  severity: Severity;
  aiProposal: string;
  requiredExpertise: string[];
  externalRef: string | null;
}

export interface IncidentFilter {
  status?: IncidentStatus;
  severity?: Severity;
}

/** The only code that reads or writes the incidents table; other modules pass their transaction in. */
@Injectable()
export class IncidentsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts unless the externalRef exists; `created` tells which happened (idempotent creation). */
  async insertOrFind(tx: Tx, incident: NewIncident): Promise<{ row: IncidentRow; created: boolean }> {
    const [inserted] = await tx.$queryRaw<IncidentRow[]>`
      INSERT INTO incidents AS i (id, title, description, severity, ai_proposal, required_expertise, external_ref)
      VALUES (gen_random_uuid(), ${incident.title}, ${incident.description}, ${incident.severity}::incident_severity, ${incident.aiProposal},
        ${incident.requiredExpertise}::text[], ${incident.externalRef})
      ON CONFLICT (external_ref) DO NOTHING
      RETURNING ${COLUMNS}`;
    if (inserted) return { row: inserted, created: true };
    const [existing] = await tx.$queryRaw<IncidentRow[]>`SELECT ${COLUMNS} FROM incidents i WHERE i.external_ref = ${incident.externalRef}`;
    return { row: existing!, created: false };
  }

  async findById(id: string, db: Db = this.prisma): Promise<IncidentRow | undefined> {
    const [row] = await db.$queryRaw<IncidentRow[]>`SELECT ${COLUMNS} FROM incidents i WHERE i.id = ${id}::uuid`;
    return row;
  }

  /** Row lock taken first in every review operation (global lock order: incident, then engineers by id). */
  async lockById(tx: Tx, id: string): Promise<IncidentRow | undefined> {
    const [row] = await tx.$queryRaw<IncidentRow[]>`SELECT ${COLUMNS} FROM incidents i WHERE i.id = ${id}::uuid FOR UPDATE`;
    return row;
  }

  /** lockById without waiting: undefined when another transaction holds the row (or it does not exist). */
  async tryLockById(tx: Tx, id: string): Promise<IncidentRow | undefined> {
    const [row] = await tx.$queryRaw<IncidentRow[]>`SELECT ${COLUMNS} FROM incidents i WHERE i.id = ${id}::uuid FOR UPDATE SKIP LOCKED`;
    return row;
  }

  async setStatus(tx: Tx, id: string, status: IncidentStatus): Promise<IncidentRow> {
    const [row] = await tx.$queryRaw<IncidentRow[]>`
      UPDATE incidents AS i SET status = ${status}::incident_status, updated_at = now() WHERE i.id = ${id}::uuid RETURNING ${COLUMNS}`;
    return row!;
  }

  async setOpenReview(tx: Tx, id: string, reviewId: string | null): Promise<IncidentRow> {
    const [row] = await tx.$queryRaw<IncidentRow[]>`
      UPDATE incidents AS i SET open_review_id = ${reviewId}::uuid, updated_at = now() WHERE i.id = ${id}::uuid RETURNING ${COLUMNS}`;
    return row!;
  }

  async recordDecision(tx: Tx, id: string, approach: Approach, status: IncidentStatus): Promise<IncidentRow> {
    const [row] = await tx.$queryRaw<IncidentRow[]>`
      UPDATE incidents AS i SET chosen_approach = ${approach}::approach, status = ${status}::incident_status, open_review_id = NULL, updated_at = now()
      WHERE i.id = ${id}::uuid RETURNING ${COLUMNS}`;
    return row!;
  }

  async countMatching(filter: IncidentFilter): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM incidents i WHERE ${this.where(filter)}`;
    return row?.total ?? 0;
  }

  async listMatching(filter: IncidentFilter, offset: number, limit: number): Promise<IncidentRow[]> {
    return this.prisma.$queryRaw<IncidentRow[]>`
      SELECT ${COLUMNS} FROM incidents i WHERE ${this.where(filter)} ORDER BY i.created_at DESC, i.id DESC OFFSET ${offset} LIMIT ${limit}`;
  }

  private where(filter: IncidentFilter): Prisma.Sql {
    const conditions: Prisma.Sql[] = [];
    if (filter.status) conditions.push(Prisma.sql`i.status = ${filter.status}::incident_status`);
    if (filter.severity) conditions.push(Prisma.sql`i.severity = ${filter.severity}::incident_severity`);
    return conditions.length ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`;
  }
}
