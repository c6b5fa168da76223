import { ConflictError } from '@app/common';
import type { IncidentStatus } from '@app/database';

/** A manual status change the incident's current status does not allow. */
export class IncidentTransitionError extends ConflictError {
  constructor(incidentId: string, from: IncidentStatus, to: IncidentStatus) {
    super('INVALID_TRANSITION', `Incident ${incidentId} cannot move from ${from} to ${to}`);
  }
}
