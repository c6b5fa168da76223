import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';

import { DATABASE_OPTIONS, type DatabaseOptions } from './database.options.js';

/** Called with the payload of a NOTIFY, or with undefined after a reconnect, when notifications may have been missed. */
export type NotificationHandler = (payload: string | undefined) => void;

const RECONNECT_DELAY_MS = 1_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * One LISTEN connection per process, outside the pool (on the direct URL: LISTEN does not work
 * through a transaction-mode pooler), shared by every subscriber. Subscribers hold no connection.
 * A lost connection is reopened every second; subscribers are then called with undefined so that
 * they re-read what they wait for.
 */
@Injectable()
export class DatabaseNotifications implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DatabaseNotifications.name);
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private client?: pg.Client;
  private reconnectTimer?: NodeJS.Timeout;
  private stopped = false;
  private failing = false;

  constructor(@Inject(DATABASE_OPTIONS) private readonly options: DatabaseOptions) {}

  /** Channels must be lower-case identifiers; subscribe before the application starts listening to HTTP. */
  subscribe(channel: string, handler: NotificationHandler): () => void {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`Invalid notification channel ${channel}`);
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client) void this.client.query(`LISTEN ${channel}`).catch(() => undefined);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.directUrl ?? this.options.url,
      application_name: 'engineer-review-service:listen',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // A connection that dies silently (network split) is noticed and replaced.
      keepAlive: true,
    });
    client.on('notification', (message) => this.dispatch(message.channel, message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      this.lost(client, error as Error);
      return;
    }
    this.client = client;
    if (this.failing) {
      this.logger.log('LISTEN connection restored');
      this.failing = false;
      for (const channel of this.handlers.keys()) this.dispatch(channel, undefined);
    }
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.stopped || this.reconnectTimer) return;
    if (this.client && this.client !== client) return;
    this.client = undefined;
    if (!this.failing)
      this.logger.warn(`LISTEN connection lost, reconnecting every ${RECONNECT_DELAY_MS} ms${error ? `: ${error.message}` : ''}`);
    this.failing = true;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, RECONNECT_DELAY_MS);
    this.reconnectTimer.unref();
  }

  private dispatch(channel: string, payload: string | undefined): void {
    for (const handler of this.handlers.get(channel) ?? []) handler(payload);
  }
}
