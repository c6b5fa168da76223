import { useState } from 'preact/hooks';

import { api, type Incident, type Review } from './api';
import { byUrgency, label, timeLeft, when } from './format';
import { ActionForm, Badge, type Done, ErrorBox, Loading, PageNotice, TextField, useResource } from './ui';

const OPEN: Review['status'][] = ['assigned', 'in_progress', 'submitted'];
const PAST: Review['status'][] = ['accepted', 'rejected', 'cancelled'];

async function withIncidents(reviews: Review[]): Promise<{ review: Review; incident: Incident | null }[]> {
  const ids = [...new Set(reviews.map((review) => review.incidentId))];
  const incidents = new Map(await Promise.all(ids.map(async (id) => [id, await api.incident(id)] as const)));
  return reviews.map((review) => ({ review, incident: incidents.get(review.incidentId) ?? null }));
}

export function ReviewBadges({ review }: { review: Review }) {
  return (
    <>
      <Badge kind={`priority-${review.priority}`}>{review.priority}</Badge>{' '}
      <Badge kind={`status-${review.status}`}>{label(review.status)}</Badge>
      {review.overdue && (
        <>
          {' '}
          <Badge kind="overdue">overdue</Badge>
        </>
      )}
      {review.escalationLevel > 0 && (
        <>
          {' '}
          <Badge kind="escalated">escalated {review.escalationLevel}</Badge>
        </>
      )}
    </>
  );
}

export function Queue() {
  const queue = useResource(
    async () => withIncidents((await api.reviews({ status: OPEN, pageSize: 100 })).items.sort(byUrgency)),
    'queue',
    true,
  );
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">My queue</h1>
      <ErrorBox error={queue.error} />
      {!queue.data && !queue.error && <Loading what="your reviews" />}
      {queue.data && queue.data.length === 0 && <p>No open reviews. New ones appear here without reloading.</p>}
      {queue.data && queue.data.length > 0 && (
        <ol class="cards" aria-label="Open reviews, most urgent first">
          {queue.data.map(({ review, incident }) => (
            <li key={review.id} class={review.overdue ? 'card overdue' : 'card'}>
              <a href={`#/review/${review.id}`}>{incident?.title ?? 'Incident'}</a>
              <p>
                <ReviewBadges review={review} />
              </p>
              <p class="deadline">{timeLeft(review)}</p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function History() {
  const past = useResource(async () => withIncidents((await api.reviews({ status: PAST, pageSize: 100 })).items), 'history');
  const submitted = useResource(async () => (await api.reviews({ status: ['submitted'], pageSize: 100 })).items, 'submitted');
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">My past reviews</h1>
      <ErrorBox error={past.error ?? submitted.error} />
      {!past.data && !past.error && <Loading what="your past reviews" />}
      {past.data && past.data.length === 0 && (
        <p>No finished reviews yet{submitted.data?.length ? `; ${submitted.data.length} submitted and waiting for a decision` : ''}.</p>
      )}
      {past.data && past.data.length > 0 && (
        <table>
          <caption>Finished reviews, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Incident</th>
              <th scope="col">Outcome</th>
              <th scope="col">Submitted</th>
              <th scope="col">Decided or cancelled</th>
            </tr>
          </thead>
          <tbody>
            {past.data.map(({ review, incident }) => (
              <tr key={review.id}>
                <td>
                  <a href={`#/review/${review.id}`}>{incident?.title ?? review.incidentId}</a>
                </td>
                <td>
                  {label(review.status)}
                  {review.cancellationReason ? ` (${review.cancellationReason})` : ''}
                </td>
                <td>{when(review.submittedAt)}</td>
                <td>{when(review.decisionMadeAt ?? review.cancelledAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SubmitForm({ review, aiProposal, done }: { review: Review; aiProposal: string; done: Done }) {
  const [approach, setApproach] = useState('');
  const [analysis, setAnalysis] = useState('');
  const [confidence, setConfidence] = useState('');
  return (
    <ActionForm
      label="Submit review"
      fieldLabels={{ approach: 'My approach', analysis: 'Analysis', confidence: 'Confidence' }}
      run={async () => {
        const value = confidence.trim() === '' ? null : Number(confidence);
        await api.submit(review.id, { approach, analysis: analysis.trim() === '' ? null : analysis, confidence: value });
        return 'Review submitted: it now waits for a lead’s decision.';
      }}
      done={done}
      announceHere={false}
    >
      <TextField
        label="My approach"
        value={approach}
        onInput={setApproach}
        required
        multiline
        rows={12}
        maxLength={20000}
        hint="The remediation you propose; it is compared line by line with the AI's proposal."
      />
      <button type="button" class="secondary" onClick={() => setApproach(aiProposal)}>
        Start from the AI proposal
      </button>
      <TextField label="Analysis" value={analysis} onInput={setAnalysis} multiline rows={5} maxLength={20000} />
      <TextField
        label="Confidence"
        value={confidence}
        onInput={setConfidence}
        type="number"
        hint="From 0 (guess) to 1 (certain), e.g. 0.8"
      />
    </ActionForm>
  );
}

export function ReviewPage({ id }: { id: string }) {
  const review = useResource(() => api.review(id), `review-${id}`, true);
  const incident = useResource(
    async () => (review.data ? api.incident(review.data.incidentId) : null),
    `incident-of-${review.data?.incidentId ?? ''}`,
  );
  const r = review.data;
  const i = incident.data;
  const [notice, setNotice] = useState<string | null>(null);
  const done: Done = (message) => {
    setNotice(message);
    void review.reload();
  };
  return (
    <section aria-labelledby="review-title">
      <p>
        <a href="#/">← My queue</a>
      </p>
      <h1 id="review-title">{i ? i.title : 'Review'}</h1>
      <PageNotice message={notice} />
      <ErrorBox error={review.error ?? incident.error} />
      {(!r || !i) && !review.error && !incident.error && <Loading what="the review" />}
      {r && i && (
        <>
          <p>
            <ReviewBadges review={r} /> <span class="deadline">{timeLeft(r)}</span> · severity {i.severity} · assigned {when(r.assignedAt)}
          </p>
          <div class="columns">
            <div class="column">
              <h2>Incident</h2>
              <p class="prewrap">{i.description ?? 'No description.'}</p>
              {i.requiredExpertise.length > 0 && <p>Needs: {i.requiredExpertise.join(', ')}</p>}
              <h2>AI proposal</h2>
              <pre class="proposal" tabIndex={0} aria-label="AI proposal">
                {i.aiProposal}
              </pre>
            </div>
            <div class="column">
              <h2>My approach</h2>
              {r.status === 'assigned' && (
                <ActionForm
                  label="Start review"
                  run={async () => {
                    await api.start(r.id);
                    return 'Review started.';
                  }}
                  done={done}
                  announceHere={false}
                >
                  <p>Starting tells the lead you are working on it. You may also submit directly.</p>
                </ActionForm>
              )}
              {(r.status === 'assigned' || r.status === 'in_progress') && <SubmitForm review={r} aiProposal={i.aiProposal} done={done} />}
              {r.approach !== null && (
                <>
                  <pre class="proposal" tabIndex={0} aria-label="My submitted approach">
                    {r.approach}
                  </pre>
                  {r.analysis && <p class="prewrap">{r.analysis}</p>}
                  {r.confidence !== null && <p>Confidence: {r.confidence}</p>}
                </>
              )}
              {r.status === 'cancelled' && <p>Cancelled: {r.cancellationReason}</p>}
              {r.decision !== 'pending' && (
                <p>
                  Decision: {label(r.decision)} by {r.decidedBy} — {r.decisionRationale}
                </p>
              )}
            </div>
          </div>
        </>
      )}
    </section>
  );
}
