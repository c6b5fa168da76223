import { describe, expect, it } from 'vitest';

import { ConfigError, loadAppConfig } from './app-config.js';

const BASE = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/ers', NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) };

describe('decision, event stream, retention and direct connection settings', () => {
  it('defaults to one approval per priority, no deadline action, a week of events and of delivered webhooks, and DATABASE_URL as the direct URL', () => {
    expect(loadAppConfig(BASE)).toMatchObject({
      decisions: { approvals: { critical: 1, high: 1, normal: 1, low: 1 }, deadlineAction: 'none' },
      eventRetentionHours: 168,
      webhook: { deliveredRetentionHours: 168 },
      databaseDirectUrl: BASE.DATABASE_URL,
    });
  });

  it('reads them', () => {
    const config = loadAppConfig({
      ...BASE,
      DECISION_APPROVALS_CRITICAL: '3',
      DECISION_APPROVALS_LOW: '2',
      DECISION_DEADLINE_ACTION: 'engineer_approach',
      EVENT_RETENTION_HOURS: '24',
      WEBHOOK_RETENTION_HOURS: '48',
      DATABASE_DIRECT_URL: 'postgresql://postgres@db-direct:5432/ers',
    });
    expect(config.decisions).toEqual({ approvals: { critical: 3, high: 1, normal: 1, low: 2 }, deadlineAction: 'engineer_approach' });
    expect(config.eventRetentionHours).toBe(24);
    expect(config.webhook.deliveredRetentionHours).toBe(48);
    expect(config.databaseDirectUrl).toBe('postgresql://postgres@db-direct:5432/ers');
  });

  it.each([
    ['DECISION_APPROVALS_HIGH', '0'],
    ['DECISION_APPROVALS_NORMAL', '4'],
    ['DECISION_DEADLINE_ACTION', 'approve'],
    ['EVENT_RETENTION_HOURS', '0'],
    ['WEBHOOK_RETENTION_HOURS', '87601'],
    ['DATABASE_DIRECT_URL', 'mysql://db/ers'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadAppConfig({ ...BASE, [name]: value })).toThrow(ConfigError);
    expect(() => loadAppConfig({ ...BASE, [name]: value })).toThrow(name);
  });
});
