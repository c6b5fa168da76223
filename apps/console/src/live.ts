// How pages learn that what they show may have changed: the service's event stream for every review
// change, the moment it commits, and a slower refresh for what the stream does not carry (new
// incidents, engineers' edits), paused while the tab is hidden.
import { reviewEvents } from './api';

const REFRESH_INTERVAL_MS = 10_000;
/** Events of one action (an assignment moves a review and an incident) arrive together: one reload. */
const COALESCE_MS = 150;

const watchers = new Set<() => void>();
let stream: AbortController | null = null;
let pending: number | undefined;

function notifyAll(): void {
  window.clearTimeout(pending);
  pending = window.setTimeout(() => {
    for (const watcher of watchers) watcher();
  }, COALESCE_MS);
}

/** One stream for the whole page, open while anything watches; a refused stream leaves the refresh. */
function openStream(): void {
  stream = new AbortController();
  const { signal } = stream;
  void (async () => {
    try {
      for await (const _event of reviewEvents(signal)) notifyAll();
    } catch {
      // Refused (signed out, no permission) or aborted: the periodic refresh still runs.
    }
  })();
}

export function watchChanges(onChange: () => void): () => void {
  const refreshIfVisible = () => {
    if (document.visibilityState === 'visible') onChange();
  };
  watchers.add(refreshIfVisible);
  if (!stream) openStream();
  const timer = window.setInterval(refreshIfVisible, REFRESH_INTERVAL_MS);
  document.addEventListener('visibilitychange', refreshIfVisible);
  return () => {
    watchers.delete(refreshIfVisible);
    window.clearInterval(timer);
    document.removeEventListener('visibilitychange', refreshIfVisible);
    if (watchers.size === 0) {
      stream?.abort();
      stream = null;
    }
  };
}
