import { useState } from 'preact/hooks';

import { api, type AuditAction, type AuditFilters } from './api';
import { when } from './format';
import { ErrorBox, Loading, SelectField, TextField, useResource } from './ui';

/** Every action the API lists; naming one more or one fewer than AuditAction is a type error. */
const ACTION_SET = {
  'engineer.created': true,
  'engineer.updated': true,
  'engineer.deleted': true,
  'engineer.drained': true,
  'incident.created': true,
  'incident.status_changed': true,
  'incident.decided': true,
  'review.assigned': true,
  'review.started': true,
  'review.submitted': true,
  'review.cancelled': true,
  'review.decided': true,
  'review.reassigned': true,
  'review.escalated': true,
  'review.decision_overdue': true,
  'review.voted': true,
  'workload.reconciled': true,
} satisfies Record<AuditAction, true>;
const ACTIONS = Object.keys(ACTION_SET) as AuditAction[];
interface Draft {
  entityType: '' | 'engineer' | 'incident' | 'review';
  entityId: string;
  actorSub: string;
  action: '' | AuditAction;
  from: string;
  to: string;
}

const EMPTY: Draft = { entityType: '', entityId: '', actorSub: '', action: '', from: '', to: '' };

/** datetime-local values are the person's local time; the API wants an ISO instant. */
const instant = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

function toQuery(draft: Draft, page: number): AuditFilters {
  return {
    page,
    pageSize: 50,
    entityType: draft.entityType || undefined,
    entityId: draft.entityId.trim() || undefined,
    actorSub: draft.actorSub.trim() || undefined,
    action: draft.action || undefined,
    from: instant(draft.from),
    to: instant(draft.to),
  };
}

function Integrity() {
  const verify = useResource(() => api.verifyAudit(), 'verify');
  const head = useResource(() => api.auditHead(), 'head');
  return (
    <section aria-labelledby="integrity-title" class="panel">
      <h2 id="integrity-title">Integrity</h2>
      <ErrorBox error={verify.error ?? head.error} />
      {verify.data && (
        <p role="status" class={verify.data.valid ? 'ok' : 'error'}>
          {verify.data.valid
            ? `The chain is intact: ${verify.data.checked} entries checked`
            : `The chain is broken at entry ${verify.data.firstInvalidSeq ?? '?'} (${verify.data.checked} entries checked before it)`}
          {verify.data.unsealed ? `; ${verify.data.unsealed} recent entries not sealed yet` : ''}.
        </p>
      )}
      {head.data && (
        <p>
          Head: entry {head.data.seq ?? '—'}, sealed {when(head.data.sealedAt)}, hash <code class="hash">{head.data.hash ?? '—'}</code>
        </p>
      )}
      <button type="button" onClick={() => void Promise.all([verify.reload(), head.reload()])}>
        Verify again
      </button>
    </section>
  );
}

export function Audit() {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applied, setApplied] = useState<Draft>(EMPTY);
  const [page, setPage] = useState(1);
  const entries = useResource(() => api.audit(toQuery(applied, page)), JSON.stringify([applied, page]));
  const set = (field: keyof Draft) => (value: string) => setDraft({ ...draft, [field]: value });
  const data = entries.data;
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit trail</h1>
      <Integrity />
      <form
        class="filters"
        aria-label="Audit filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(draft);
          setPage(1);
        }}
      >
        <SelectField
          label="Entity type"
          value={draft.entityType}
          onChange={set('entityType')}
          options={[
            { value: '', label: 'any' },
            ...(['engineer', 'incident', 'review'] as const).map((value) => ({ value, label: value })),
          ]}
        />
        <TextField label="Entity id" value={draft.entityId} onInput={set('entityId')} />
        <TextField label="Actor" value={draft.actorSub} onInput={set('actorSub')} />
        <SelectField
          label="Action"
          value={draft.action}
          onChange={set('action')}
          options={[{ value: '', label: 'any' }, ...ACTIONS.map((value) => ({ value, label: value }))]}
        />
        <TextField label="From" value={draft.from} onInput={set('from')} type="datetime-local" />
        <TextField label="To" value={draft.to} onInput={set('to')} type="datetime-local" />
        <button type="submit">Apply filters</button>
      </form>
      <ErrorBox error={entries.error} />
      {!data && !entries.error && <Loading what="the audit trail" />}
      {data && (
        <>
          <table>
            <caption>
              {data.total} entries, oldest first; page {data.page} of {data.totalPages}
            </caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Entity</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((entry) => (
                <tr key={entry.id}>
                  <td>{entry.seq}</td>
                  <td>{when(entry.occurredAt)}</td>
                  <td>{entry.actorSub}</td>
                  <td>{entry.action}</td>
                  <td>
                    {entry.entityType} <code>{entry.entityId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav aria-label="Audit pages" class="pager">
            <button type="button" disabled={data.page <= 1} onClick={() => setPage(data.page - 1)}>
              Previous page
            </button>
            <button type="button" disabled={data.page >= data.totalPages} onClick={() => setPage(data.page + 1)}>
              Next page
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
