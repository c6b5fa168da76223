import qs from 'qs';

const PROTO = '__proto__';

/**
 * Fastify's query parser: qs, for nested keys and arrays (what Express calls "extended" parsing),
 * except that a `__proto__` key is kept as a plain own field instead of being dropped in silence:
 * the validation then refuses it like any other field the route does not declare.
 */
export function parseQueryString(raw: string): Record<string, unknown> {
  const parsed = qs.parse(raw, { allowPrototypes: true }) as Record<string, unknown>;
  for (const key of new URLSearchParams(raw).keys()) {
    if (key === PROTO || key.startsWith(`${PROTO}[`)) {
      Object.defineProperty(parsed, PROTO, { value: '', enumerable: true, configurable: true, writable: true });
    }
  }
  return parsed;
}
