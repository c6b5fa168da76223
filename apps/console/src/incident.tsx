import { diffLines } from 'diff';
import { useState } from 'preact/hooks';

import { api, type DecisionValue, type Engineer, type IncidentWithReviews, type Priority, type Review } from './api';
import { ReviewBadges } from './engineer';
import { label, timeLeft, when } from './format';
import { ActionForm, type Done, ErrorBox, Loading, PageNotice, SelectField, TextField, useResource } from './ui';

const PRIORITIES: { value: Priority; label: string }[] = (['critical', 'high', 'normal', 'low'] as const).map((value) => ({
  value,
  label: value,
}));

function ratio(engineer: Engineer): string {
  return `${engineer.currentReviewCount} of ${engineer.maxConcurrentReviews} open`;
}

/** Why GET /engineers/available puts this engineer first: lowest load ratio, then longest since an assignment. */
function whyFirst(engineer: Engineer): string {
  return `lowest load (${ratio(engineer)}), then ${engineer.lastAssignedAt ? `longest without a new review (last ${when(engineer.lastAssignedAt)})` : 'never assigned yet'}`;
}

function EngineerChoice({
  engineers,
  value,
  onChange,
  label: text,
}: {
  engineers: Engineer[];
  value: string;
  onChange: (id: string) => void;
  label: string;
}) {
  return (
    <SelectField
      label={text}
      value={value}
      onChange={onChange}
      options={[
        { value: '', label: 'Choose an engineer' },
        ...engineers.map((engineer, index) => ({ value: engineer.id, label: `${index + 1}. ${engineer.name} (${ratio(engineer)})` })),
      ]}
    />
  );
}

function AssignPanel({ incident, done }: { incident: IncidentWithReviews; done: Done }) {
  const candidates = useResource(() => api.available(incident.requiredExpertise), `available-${incident.id}`, true);
  const [priority, setPriority] = useState<Priority>(
    incident.severity === 'critical' ? 'critical' : incident.severity === 'high' ? 'high' : 'normal',
  );
  const [engineerId, setEngineerId] = useState('');
  const list = candidates.data ?? [];
  const first = list[0];
  return (
    <section aria-labelledby="assign-title" class="panel">
      <h2 id="assign-title">Assign a review</h2>
      <ErrorBox error={candidates.error} />
      <SelectField label="Priority" value={priority} onChange={setPriority} options={PRIORITIES} />
      {candidates.data &&
        (first ? (
          <p>
            Auto-assign would pick <strong>{first.name}</strong>: {whyFirst(first)}
            {incident.requiredExpertise.length > 0 ? `, with ${incident.requiredExpertise.join(', ')}` : ''}. {list.length} engineer
            {list.length === 1 ? '' : 's'} eligible.
          </p>
        ) : (
          <p>
            Nobody is eligible right now{incident.requiredExpertise.length > 0 ? ` with ${incident.requiredExpertise.join(', ')}` : ''}:
            every engineer is busy, away or lacks the expertise.
          </p>
        ))}
      <ActionForm
        label="Auto-assign"
        run={async () => {
          const review = await api.autoAssign(incident.id, priority);
          return `Assigned to ${list.find((engineer) => engineer.id === review.engineerId)?.name ?? review.engineerId}.`;
        }}
        done={done}
        announceHere={false}
      />
      <ActionForm
        label="Assign to chosen engineer"
        disabled={engineerId === ''}
        run={async () => {
          await api.assign(incident.id, engineerId, priority);
          return `Assigned to ${list.find((engineer) => engineer.id === engineerId)?.name ?? 'the engineer'}.`;
        }}
        done={done}
        announceHere={false}
      >
        <EngineerChoice engineers={list} value={engineerId} onChange={setEngineerId} label="Engineer (in auto-assign order)" />
      </ActionForm>
    </section>
  );
}

function OpenReviewPanel({
  review,
  incident,
  engineerName,
  done,
}: {
  review: Review;
  incident: IncidentWithReviews;
  engineerName: string;
  done: Done;
}) {
  const candidates = useResource(() => api.available(incident.requiredExpertise), `reassign-${review.id}`);
  const [cancelReason, setCancelReason] = useState('');
  const [reassignReason, setReassignReason] = useState('');
  const [engineerId, setEngineerId] = useState('');
  const others = (candidates.data ?? []).filter((engineer) => engineer.id !== review.engineerId);
  const canReassign = review.status === 'assigned' || review.status === 'in_progress';
  return (
    <section aria-labelledby="open-title" class="panel">
      <h2 id="open-title">Open review</h2>
      <p>
        <ReviewBadges review={review} /> <span class="deadline">{timeLeft(review)}</span> · {engineerName} · {review.assignment.strategy} by{' '}
        {review.assignment.assignedBy}
      </p>
      {canReassign && (
        <ActionForm
          label="Reassign"
          fieldLabels={{ reason: 'Reason for reassigning' }}
          disabled={engineerId === ''}
          run={async () => {
            await api.reassign(review.id, engineerId, reassignReason);
            return 'Reassigned.';
          }}
          done={done}
          announceHere={false}
        >
          <ErrorBox error={candidates.error} />
          <EngineerChoice engineers={others} value={engineerId} onChange={setEngineerId} label="Reassign to" />
          <TextField label="Reason for reassigning" value={reassignReason} onInput={setReassignReason} required maxLength={1000} />
        </ActionForm>
      )}
      <ActionForm
        label="Cancel review"
        fieldLabels={{ reason: 'Reason for cancelling' }}
        danger
        run={async () => {
          await api.cancel(review.id, cancelReason);
          return 'Review cancelled; the incident waits for a new review.';
        }}
        done={done}
        announceHere={false}
      >
        <TextField label="Reason for cancelling" value={cancelReason} onInput={setCancelReason} required maxLength={1000} />
      </ActionForm>
    </section>
  );
}

function Diff({ from, to }: { from: string; to: string }) {
  const lines = diffLines(from.endsWith('\n') ? from : `${from}\n`, to.endsWith('\n') ? to : `${to}\n`).flatMap((change) =>
    change.value
      .replace(/\n$/, '')
      .split('\n')
      .map((text) => ({ kind: change.added ? 'added' : change.removed ? 'removed' : 'same', text })),
  );
  const added = lines.filter((line) => line.kind === 'added').length;
  const removed = lines.filter((line) => line.kind === 'removed').length;
  return (
    <figure class="diff">
      <figcaption>
        Changes from the AI proposal to the engineer's approach: {added} line{added === 1 ? '' : 's'} added, {removed} removed
      </figcaption>
      <pre tabIndex={0} aria-label="Diff from the AI proposal to the engineer's approach">
        {lines.map((line, index) =>
          line.kind === 'added' ? (
            <ins key={index}>+ {line.text}</ins>
          ) : line.kind === 'removed' ? (
            <del key={index}>- {line.text}</del>
          ) : (
            <span key={index}>
              {'  '}
              {line.text}
            </span>
          ),
        )}
      </pre>
    </figure>
  );
}

function DecisionPanel({ review, incident, done }: { review: Review; incident: IncidentWithReviews; done: Done }) {
  const view = useResource(() => api.decision(incident.id), `decision-${incident.id}`, true);
  const [decision, setDecision] = useState<DecisionValue | ''>('');
  const [rationale, setRationale] = useState('');
  return (
    <section aria-labelledby="decide-title" class="panel">
      <h2 id="decide-title">Decision</h2>
      <div class="columns">
        <div class="column">
          <h3>AI proposal</h3>
          <pre class="proposal" tabIndex={0} aria-label="AI proposal">
            {incident.aiProposal}
          </pre>
        </div>
        <div class="column">
          <h3>Engineer's approach</h3>
          <pre class="proposal" tabIndex={0} aria-label="Engineer's approach">
            {review.approach}
          </pre>
          {review.analysis && <p class="prewrap">Analysis: {review.analysis}</p>}
          <p>Confidence: {review.confidence ?? 'not given'}</p>
        </div>
      </div>
      <Diff from={incident.aiProposal} to={review.approach ?? ''} />
      {view.data && (
        <p>
          Votes: {view.data.votes.length} of {view.data.requiredVotes} needed
          {view.data.votes.map((vote) => ` · ${vote.adminSub}: ${label(vote.decision)}`).join('')}
          {view.data.deadlineAt ? ` · decide by ${when(view.data.deadlineAt)}` : ''}
        </p>
      )}
      <ActionForm
        label="Record decision"
        fieldLabels={{ rationale: 'Rationale', decision: 'Which approach is applied?' }}
        disabled={decision === ''}
        run={async () => {
          if (decision === '') return;
          const pending = await api.decide(incident.id, decision, rationale);
          return pending
            ? `Vote recorded: ${pending.votes.length} of ${pending.requiredVotes} votes needed; another admin must agree.`
            : `Decision recorded: ${label(decision)}.`;
        }}
        done={done}
        announceHere={false}
      >
        <fieldset>
          <legend>Which approach is applied?</legend>
          {(['engineer_approach', 'ai_approach'] as const).map((value) => (
            <label key={value} class="choice">
              <input type="radio" name="decision" value={value} checked={decision === value} onChange={() => setDecision(value)} />{' '}
              {value === 'ai_approach' ? "The AI's proposal" : "The engineer's approach"}
            </label>
          ))}
        </fieldset>
        <TextField label="Rationale" value={rationale} onInput={setRationale} required multiline rows={3} maxLength={5000} />
      </ActionForm>
    </section>
  );
}

export function IncidentPage({ id }: { id: string }) {
  const incident = useResource(() => api.incident(id), `incident-${id}`, true);
  const engineers = useResource(() => api.engineers(true), 'engineer-names', true);
  const nameOf = (engineerId: string): string => engineers.data?.items.find((engineer) => engineer.id === engineerId)?.name ?? engineerId;
  const i = incident.data;
  const [notice, setNotice] = useState<string | null>(null);
  const done: Done = (message) => {
    setNotice(message);
    void incident.reload();
  };
  const reviews = i?.reviews ?? [];
  const open = reviews.find((review) => review.id === i?.openReviewId);
  const closed = i?.status === 'approved' || i?.status === 'resolved';
  return (
    <section aria-labelledby="incident-title">
      <p>
        <a href="#/">← Board</a>
      </p>
      <h1 id="incident-title">{i ? i.title : 'Incident'}</h1>
      <PageNotice message={notice} />
      <ErrorBox error={incident.error ?? engineers.error} />
      {!i && !incident.error && <Loading what="the incident" />}
      {i && (
        <>
          <p>
            severity {i.severity} · {label(i.status)}
            {i.chosenApproach ? ` · chosen: ${label(i.chosenApproach)}` : ''} · detected {when(i.createdAt)}
          </p>
          {i.description && <p class="prewrap">{i.description}</p>}
          {!open && !closed && <AssignPanel incident={i} done={done} />}
          {open && open.status === 'submitted' && <DecisionPanel review={open} incident={i} done={done} />}
          {open && <OpenReviewPanel review={open} incident={i} engineerName={nameOf(open.engineerId)} done={done} />}
          {!open && (
            <details>
              <summary>AI proposal</summary>
              <pre class="proposal">{i.aiProposal}</pre>
            </details>
          )}
          <h2>Reviews of this incident</h2>
          {reviews.length === 0 ? (
            <p>None yet.</p>
          ) : (
            <ul>
              {reviews.map((review) => (
                <li key={review.id}>
                  {label(review.status)} · {nameOf(review.engineerId)} · assigned {when(review.assignedAt)}
                  {review.cancellationReason ? ` · reason: ${review.cancellationReason}` : ''}
                  {review.decisionRationale ? ` · rationale: ${review.decisionRationale}` : ''}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
