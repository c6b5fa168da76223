import { Injectable } from '@nestjs/common';

import { type Approach, expectOne, type IncidentStatus, Prisma, PrismaService, type Severity, type Tx } from '@app/database';

import { INCIDENT_COLUMNS, type IncidentRow } from './incident.view.js';

type Db = Tx | PrismaService;

const COLUMNS = INCIDENT_COLUMNS.select;

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
    const [inserted] = await INCIDENT_COLUMNS.query(
      tx,
      Prisma.sql`INSERT INTO incidents AS i (id, title, description, severity, ai_proposal, required_expertise, external_ref)
      VALUES (gen_random_uuid(), ${incident.title}, ${incident.description}, ${incident.severity}::incident_severity, ${incident.aiProposal},
        ${incident.requiredExpertise}::text[], ${incident.externalRef})
      ON CONFLICT (external_ref) DO NOTHING
      RETURNING ${COLUMNS}`,
    );
    if (inserted) return { row: inserted, created: true };
    const existing = await INCIDENT_COLUMNS.query(
      tx,
      Prisma.sql`SELECT ${COLUMNS} FROM incidents i WHERE i.external_ref = ${incident.externalRef}`,
    );
    return {
      row: expectOne(existing, `the incident with externalRef ${incident.externalRef} that the insert conflicted with`),
      created: false,
    };
  }

  async findById(id: string, db: Db = this.prisma): Promise<IncidentRow | undefined> {
    const [row] = await INCIDENT_COLUMNS.query(db, Prisma.sql`SELECT ${COLUMNS} FROM incidents i WHERE i.id = ${id}::uuid`);
    return row;
  }

  /** Row lock taken first in every review operation (global lock order: incident, then engineers by id). */
  async lockById(tx: Tx, id: string): Promise<IncidentRow | undefined> {
    const [row] = await INCIDENT_COLUMNS.query(tx, Prisma.sql`SELECT ${COLUMNS} FROM incidents i WHERE i.id = ${id}::uuid FOR UPDATE`);
    return row;
  }

  /**
   * Locks the incident `id` (an SQL expression: a parameter, or a subquery such as a review's
   * incident) and reads its row: a step of a combined statement (runSteps).
   */
  lockStep(id: Prisma.Sql): Prisma.Sql {
    return Prisma.sql`SELECT ${COLUMNS} FROM incidents i WHERE i.id = ${id} FOR UPDATE`;
  }

  /**
   * Points the incident at its open review (`reviewId` an SQL expression) or at none, and moves its
   * status when `status` is given: a step that returns the incident; the caller holds its lock.
   */
  openReviewStep(id: string, reviewId: Prisma.Sql, status?: IncidentStatus): Prisma.Sql {
    const statusChange = status === undefined ? Prisma.empty : Prisma.sql`, status = ${status}::incident_status`;
    return Prisma.sql`UPDATE incidents AS i SET open_review_id = ${reviewId}${statusChange}, updated_at = now() WHERE i.id = ${id}::uuid
      RETURNING ${COLUMNS}`;
  }

  /** lockById without waiting: undefined when another transaction holds the row (or it does not exist). */
  async tryLockById(tx: Tx, id: string): Promise<IncidentRow | undefined> {
    const [row] = await INCIDENT_COLUMNS.query(
      tx,
      Prisma.sql`SELECT ${COLUMNS} FROM incidents i WHERE i.id = ${id}::uuid FOR UPDATE SKIP LOCKED`,
    );
    return row;
  }

  async setStatus(tx: Tx, id: string, status: IncidentStatus): Promise<IncidentRow> {
    const rows = await INCIDENT_COLUMNS.query(
      tx,
      Prisma.sql`UPDATE incidents AS i SET status = ${status}::incident_status, updated_at = now() WHERE i.id = ${id}::uuid RETURNING ${COLUMNS}`,
    );
    return expectOne(rows, `incident ${id} after its status change (the caller holds its lock)`);
  }

  /** Records the chosen approach, moves the status and clears the open review: a step that returns the incident; the caller holds its lock. */
  recordDecisionStep(id: string, approach: Approach, status: IncidentStatus): Prisma.Sql {
    return Prisma.sql`UPDATE incidents AS i SET chosen_approach = ${approach}::approach, status = ${status}::incident_status, open_review_id = NULL, updated_at = now()
      WHERE i.id = ${id}::uuid RETURNING ${COLUMNS}`;
  }

  async countMatching(filter: IncidentFilter): Promise<number> {
    const [row] = await this.prisma.$queryRaw<
      { total: number }[]
    >`SELECT count(*)::int AS total FROM incidents i WHERE ${this.where(filter)}`;
    return row?.total ?? 0;
  }

  async listMatching(filter: IncidentFilter, offset: number, limit: number): Promise<IncidentRow[]> {
    return INCIDENT_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${COLUMNS} FROM incidents i WHERE ${this.where(filter)} ORDER BY i.created_at DESC, i.id DESC OFFSET ${offset} LIMIT ${limit}`,
    );
  }

  private where(filter: IncidentFilter): Prisma.Sql {
    const conditions: Prisma.Sql[] = [];
    if (filter.status) conditions.push(Prisma.sql`i.status = ${filter.status}::incident_status`);
    if (filter.severity) conditions.push(Prisma.sql`i.severity = ${filter.severity}::incident_severity`);
    return conditions.length ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`;
  }
}
