/** What a caller may do. Guards and services check permissions, never role names. */
export const Permission = {
  EngineersManage: 'engineers:manage',
  EngineersReadAll: 'engineers:read',
  EngineersReadSelf: 'engineers:read-self',
  IncidentsWrite: 'incidents:write',
  IncidentsReadAll: 'incidents:read',
  IncidentsReadOwn: 'incidents:read-own',
  IncidentsDecide: 'incidents:decide',
  ReviewsAssign: 'reviews:assign',
  ReviewsReadAll: 'reviews:read',
  ReviewsReadOwn: 'reviews:read-own',
  ReviewsWorkOwn: 'reviews:work-own',
  AuditRead: 'audit:read',
  WorkloadManage: 'workload:manage',
  SlaRun: 'sla:run',
  WebhooksRead: 'webhooks:read',
  EventsReadAll: 'events:read',
  EventsReadOwn: 'events:read-own',
} as const;

export type Permission = (typeof Permission)[keyof typeof Permission];

export const ROLES = ['admin', 'engineer', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** The contract's role table, as data. A caller with several roles has the union. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: [
    Permission.EngineersManage,
    Permission.EngineersReadAll,
    Permission.IncidentsWrite,
    Permission.IncidentsReadAll,
    Permission.IncidentsDecide,
    Permission.ReviewsAssign,
    Permission.ReviewsReadAll,
    Permission.AuditRead,
    Permission.WorkloadManage,
    Permission.SlaRun,
    Permission.WebhooksRead,
    Permission.EventsReadAll,
  ],
  engineer: [
    Permission.EngineersReadSelf,
    Permission.IncidentsReadOwn,
    Permission.ReviewsReadOwn,
    Permission.ReviewsWorkOwn,
    Permission.EventsReadOwn,
  ],
  service: [Permission.IncidentsWrite, Permission.IncidentsReadAll, Permission.ReviewsReadAll, Permission.EventsReadAll],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function permissionsOf(roles: readonly string[]): Set<Permission> {
  return new Set(roles.filter(isRole).flatMap((role) => ROLE_PERMISSIONS[role]));
}
