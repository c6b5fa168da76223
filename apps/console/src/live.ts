// How pages learn that what they show may have changed. Today: a short refresh while the tab is
// visible. The service's event stream (GET /api/v1/events) will replace the body of watchChanges
// without touching its callers.
const REFRESH_INTERVAL_MS = 5_000;

export function watchChanges(onChange: () => void): () => void {
  const refreshIfVisible = () => {
    if (document.visibilityState === 'visible') onChange();
  };
  const timer = window.setInterval(refreshIfVisible, REFRESH_INTERVAL_MS);
  document.addEventListener('visibilitychange', refreshIfVisible);
  return () => {
    window.clearInterval(timer);
    document.removeEventListener('visibilitychange', refreshIfVisible);
  };
}
