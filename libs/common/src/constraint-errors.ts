import type { DomainError } from './domain-error.js';

/** A database constraint's name, and the error its violation means. */
export type ConstraintErrors = Readonly<Record<string, () => DomainError>>;

const byConstraint = new Map<string, () => DomainError>();

/**
 * A module names, in its `*.errors.ts`, the constraints of its own tables whose violation has a
 * contract code: the last word behind its checks (a race the locks did not stop still answers the
 * contract's 409, not a 500).
 */
export function mapConstraintErrors(errors: ConstraintErrors): void {
  for (const [constraint, error] of Object.entries(errors)) byConstraint.set(constraint, error);
}

/** The error a violation of this constraint means, when a module declared one. */
export function errorForConstraint(constraint: string): DomainError | undefined {
  return byConstraint.get(constraint)?.();
}
