import { api, type Engineer, type Incident, type Review } from './api';
import { ReviewBadges } from './engineer';
import { byUrgency, label, timeLeft, when } from './format';
import { ErrorBox, Loading, useResource } from './ui';

const OPEN_STATUSES: Review['status'][] = ['assigned', 'in_progress', 'submitted'];

interface BoardData {
  reviews: Review[];
  totalOpen: number;
  engineers: Engineer[];
  waiting: Incident[];
  incidents: Map<string, Incident>;
}

async function loadBoard(): Promise<BoardData> {
  const [open, engineers, detected, analyzing, pending] = await Promise.all([
    api.reviews({ status: OPEN_STATUSES, pageSize: 100 }),
    api.engineers(),
    api.incidents('detected'),
    api.incidents('analyzing'),
    api.incidents('pending_approval'),
  ]);
  const incidents = new Map<string, Incident>();
  for (const incident of [...detected.items, ...analyzing.items, ...pending.items]) incidents.set(incident.id, incident);
  const missing = [...new Set(open.items.map((review) => review.incidentId))].filter((id) => !incidents.has(id));
  for (const incident of await Promise.all(missing.map((id) => api.incident(id)))) incidents.set(incident.id, incident);
  return {
    reviews: open.items,
    totalOpen: open.total,
    engineers: engineers.items,
    // Pending approval without an open review: its review was cancelled and it needs a new one.
    waiting: [...detected.items, ...analyzing.items, ...pending.items].filter((incident) => incident.openReviewId === null),
    incidents,
  };
}

function ReviewColumn({ status, data }: { status: Review['status']; data: BoardData }) {
  const reviews = data.reviews.filter((review) => review.status === status).sort(byUrgency);
  const names = new Map(data.engineers.map((engineer) => [engineer.id, engineer.name]));
  return (
    <section class="board-column" aria-labelledby={`col-${status}`}>
      <h2 id={`col-${status}`}>
        {label(status)} ({reviews.length})
      </h2>
      <ul class="cards">
        {reviews.map((review) => (
          <li key={review.id} class={review.overdue || review.escalationLevel > 0 ? 'card overdue' : 'card'}>
            <a href={`#/incident/${review.incidentId}`}>{data.incidents.get(review.incidentId)?.title ?? 'Incident'}</a>
            <p>
              <ReviewBadges review={review} />
            </p>
            <p>
              {names.get(review.engineerId) ?? review.engineerId} · <span class="deadline">{timeLeft(review)}</span>
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Board() {
  const board = useResource(loadBoard, 'board', true);
  const data = board.data;
  return (
    <section aria-labelledby="board-title">
      <h1 id="board-title">Board</h1>
      <ErrorBox error={board.error} />
      {!data && !board.error && <Loading what="the board" />}
      {data && (
        <>
          {data.totalOpen > data.reviews.length && (
            <p role="note">
              Showing the newest {data.reviews.length} of {data.totalOpen} open reviews.
            </p>
          )}
          <div class="board">
            {OPEN_STATUSES.map((status) => (
              <ReviewColumn key={status} status={status} data={data} />
            ))}
          </div>
          <div class="columns">
            <section class="column" aria-labelledby="waiting-title">
              <h2 id="waiting-title">Incidents waiting for a review ({data.waiting.length})</h2>
              {data.waiting.length === 0 ? (
                <p>None.</p>
              ) : (
                <ul class="cards">
                  {data.waiting.map((incident) => (
                    <li key={incident.id} class="card">
                      <a href={`#/incident/${incident.id}`}>{incident.title}</a>
                      <p>
                        severity {incident.severity} · {label(incident.status)} · since {when(incident.createdAt)}
                      </p>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section class="column" aria-labelledby="load-title">
              <h2 id="load-title">Engineers' load</h2>
              <ul class="load">
                {data.engineers.map((engineer) => (
                  <li key={engineer.id}>
                    <span>
                      {engineer.name} {engineer.status !== 'active' && <em>({label(engineer.status)})</em>}
                    </span>
                    <meter
                      min={0}
                      max={engineer.maxConcurrentReviews}
                      value={engineer.currentReviewCount}
                      aria-label={`${engineer.name}'s load`}
                    />
                    <span>
                      {engineer.currentReviewCount} of {engineer.maxConcurrentReviews}
                    </span>
                  </li>
                ))}
              </ul>
            </section>
          </div>
        </>
      )}
    </section>
  );
}
