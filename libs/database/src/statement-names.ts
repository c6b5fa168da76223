/** Bounds the server memory the prepared statements take: each connection keeps every one it has parsed. */
export const MAX_NAMED_STATEMENTS = 500;

/**
 * Names for node-postgres's named prepared statements, one per distinct SQL text: a connection then
 * parses and plans each statement once and later only binds and executes it, which saves CPU on both
 * sides. The SQL texts of the repositories are few (values are parameters); past `max` distinct texts
 * (e.g. lists of varying length) the rest get '', node-postgres's unnamed statement, i.e. parsed on
 * each run as before.
 */
export function statementNames(max = MAX_NAMED_STATEMENTS): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined && names.size < max) {
      name = `ers_${names.size.toString(36)}`;
      names.set(sql, name);
    }
    return name ?? '';
  };
}
