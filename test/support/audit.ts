import type { TestApp } from './test-app.js';

export interface AuditRow {
  action: string;
  actor_sub: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** The audit entries of one entity, oldest first, straight from the table. */
export async function auditOf(t: TestApp, entityId: string): Promise<AuditRow[]> {
  const { rows } = await t.sql.query<AuditRow>(
    'SELECT action::text, actor_sub, before, after FROM audit_entries WHERE entity_id = $1 ORDER BY seq',
    [entityId],
  );
  return rows;
}
