// Instrumentation patches http and pg as they are loaded, so the tracing SDK starts before anything
// else is imported: the application itself is a dynamic import. Without an OTLP endpoint the SDK is
// never loaded.
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) {
  const { startTracing } = await import('./tracing.js');
  await startTracing();
}

await import('./bootstrap.js');
