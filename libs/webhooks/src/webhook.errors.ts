import { ConflictError } from '@app/common';

/** Last-Event-ID names an event the caller cannot resume from: unknown, not visible to it, or past retention. */
export class EventIdExpiredError extends ConflictError {
  constructor(eventId: string) {
    super('EVENT_ID_EXPIRED', `Event ${eventId} is unknown or past retention: start afresh without Last-Event-ID`);
  }
}
