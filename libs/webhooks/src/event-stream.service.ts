import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';

import { type Actor, Permission } from '@app/auth';
import { DatabaseNotifications } from '@app/database';
import { EngineersRepository } from '@app/engineers';
import { Draining } from '@app/http';

import { EventLogRepository, EVENTS_SEQUENCED_CHANNEL, type StreamedEvent, type StreamFilter } from './event-log.repository.js';
import { EventIdExpiredError } from './webhook.errors.js';

const READ_BATCH_SIZE = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EventStreamQuery {
  types?: string[];
  incidentId?: string;
  /** Last-Event-ID header, or the `after` query parameter. */
  after?: string;
}

export interface EventFeed {
  /** Batches of events in stream order: the retained ones after the cursor first, then new ones as they are sequenced. */
  batches(signal: AbortSignal): AsyncGenerator<StreamedEvent[]>;
}

/**
 * Serves GET /api/v1/events. Streams hold no database connection while they wait: every stream of the
 * process waits on one shared promise that the sequencer's NOTIFY (from any replica) settles, then
 * reads what follows its cursor. Positions are given in commit order, so reading "after the cursor"
 * never skips an event that committed late (docs/architecture.md, "Event stream").
 */
@Injectable()
export class EventStreamService implements OnModuleInit, OnModuleDestroy {
  private readonly stopping = new AbortController();
  private wake = signalled();
  private unsubscribe?: () => void;

  constructor(
    private readonly log: EventLogRepository,
    private readonly engineers: EngineersRepository,
    private readonly notifications: DatabaseNotifications,
    private readonly draining: Draining,
  ) {}

  onModuleInit(): void {
    this.draining.closingSignal.addEventListener('abort', () => this.onModuleDestroy(), { once: true });
    this.unsubscribe = this.notifications.subscribe(EVENTS_SEQUENCED_CHANNEL, () => this.wakeAll());
  }

  /** Ends every stream of this process (they finish their current write and close). */
  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.stopping.abort();
    this.wakeAll();
  }

  /**
   * Checks the cursor before anything is sent: an unknown or purged Last-Event-ID, or one of an event
   * the caller may not see, is 409 EVENT_ID_EXPIRED. Without one, the stream starts at the present.
   * An engineer sees only events of their own reviews; a deleted or unknown engineer sees none.
   */
  async open(actor: Actor, query: EventStreamQuery): Promise<EventFeed> {
    const filter: StreamFilter = { types: query.types, incidentId: query.incidentId };
    let visible = true;
    if (!actor.can(Permission.EventsReadAll)) {
      const engineerId = await this.engineers.current(actor.engineerId);
      visible = engineerId !== null;
      filter.engineerId = engineerId ?? undefined;
    }
    let cursor: bigint;
    if (query.after !== undefined) {
      const position = visible && UUID.test(query.after) ? await this.log.positionOf(query.after, filter) : undefined;
      if (position === undefined) throw new EventIdExpiredError(query.after);
      cursor = position;
    } else {
      cursor = await this.log.lastPosition();
    }
    return { batches: (signal) => this.read(cursor, filter, visible, signal) };
  }

  private async *read(start: bigint, filter: StreamFilter, visible: boolean, signal: AbortSignal): AsyncGenerator<StreamedEvent[]> {
    const stop = AbortSignal.any([signal, this.stopping.signal]);
    const stopped = aborted(stop);
    let cursor = start;
    while (!stop.aborted) {
      // Taken before reading, so that a notification arriving during the read is not lost.
      const next = this.wake.promise;
      for (let full = visible; full && !stop.aborted;) {
        const events = await this.log.after(cursor, filter, READ_BATCH_SIZE);
        if (events.length > 0) {
          cursor = events.at(-1)!.position;
          yield events;
        }
        full = events.length === READ_BATCH_SIZE;
      }
      await Promise.race([next, stopped]);
    }
  }

  private wakeAll(): void {
    const current = this.wake;
    this.wake = signalled();
    current.resolve();
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** A promise with its resolve function (Promise.withResolvers is not in Node 20). */
function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
