// Latency bookkeeping: every sample is kept (runs are bounded), so percentiles are exact
// nearest-rank values rather than histogram approximations.

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function median(values) {
  const present = values.filter((value) => typeof value === 'number' && Number.isFinite(value)).sort((a, b) => a - b);
  if (present.length === 0) return null;
  const middle = Math.floor(present.length / 2);
  return present.length % 2 ? present[middle] : (present[middle - 1] + present[middle]) / 2;
}

export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 0) return { count: 0, mean: null, p50: null, p95: null, p99: null, max: null };
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    mean: round(total / sorted.length),
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
  };
}

export function round(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Successful-operation latencies (ms) per operation name, and error counts per "op status code". */
export class Recorder {
  constructor() {
    this.latencies = new Map();
    this.errors = new Map();
    this.errorTimeline = [];
  }

  ok(operation, milliseconds) {
    let samples = this.latencies.get(operation);
    if (!samples) this.latencies.set(operation, (samples = []));
    samples.push(milliseconds);
  }

  error(operation, status, code, at = Date.now()) {
    const key = `${operation} ${status} ${code ?? ''}`.trim();
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    this.errorTimeline.push({ at, operation, status, code: code ?? null });
  }

  count(operation) {
    return this.latencies.get(operation)?.length ?? 0;
  }

  summary() {
    return Object.fromEntries([...this.latencies].map(([operation, samples]) => [operation, summarize(samples)]));
  }

  errorCounts() {
    return Object.fromEntries([...this.errors].sort(([a], [b]) => a.localeCompare(b)));
  }
}
