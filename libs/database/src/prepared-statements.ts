/**
 * How many distinct SQL texts a replica prepares by name. The service sends about a hundred; list
 * filters build a few more per combination, and texts beyond the limit simply stay unnamed, so no
 * request can grow every connection's set of prepared statements without bound.
 */
export const PREPARED_STATEMENT_LIMIT = 300;

/**
 * Names node-postgres's prepared statements, one name per distinct SQL text (adapter-pg's
 * `statementNameGenerator`): PostgreSQL then parses and plans a statement once per connection
 * rather than on every execution, which for the large combined statements (runSteps) was most of
 * what they cost the server. A text beyond `limit` gets the empty name: node-postgres sends it as
 * the unnamed statement, as every statement was sent before.
 */
export function preparedStatementNames(limit = PREPARED_STATEMENT_LIMIT): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    const known = names.get(sql);
    if (known !== undefined) return known;
    if (names.size >= limit) return '';
    const name = `ers_${names.size}`;
    names.set(sql, name);
    return name;
  };
}
