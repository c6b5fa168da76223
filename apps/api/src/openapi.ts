import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { API_PREFIX, applyHttpConventions, RouteCatalog } from '@app/http';

const DESCRIPTION = [
  'Human review of AI-proposed incident remediations: engineers, incidents, reviews and their decisions, SLA escalation, audit trail.',
  '',
  'Every error is RFC 9457 `application/problem+json` with a stable `code`; each operation lists the codes it can answer. ',
  'Every response carries `X-Request-Id`. Every POST under `/api/v1` accepts an `Idempotency-Key`.',
].join('\n');

const TAGS: [string, string][] = [
  ['engineers', 'Engineers, their capacity and availability'],
  ['incidents', 'Incidents filed by the detection pipeline, and the decision between the AI and the engineer approach'],
  ['reviews', 'Review lifecycle: assign, start, submit, cancel, reassign'],
  ['audit', 'Append-only, hash-chained audit trail'],
  ['admin', 'Workload counter integrity'],
  ['sla', 'SLA escalation'],
  ['webhooks', 'Webhook events and their delivery state'],
  ['health', 'Liveness and readiness probes'],
  ['metrics', 'Prometheus metrics'],
];

/** The OpenAPI document the service serves at /docs-json, generated from the controllers' declarations. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.0.3')
    .setTitle('Engineer Review Service')
    .setDescription(DESCRIPTION)
    .setVersion('1.0')
    .addServer('/', 'The server that serves this document')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'A JWT with `sub`, `roles` (admin, engineer, service) and `exp`',
      },
      'bearer',
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when the service has one (a JWT is refused)' },
      'metricsToken',
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build());
  return applyHttpConventions(document, app.get(RouteCatalog).list(), API_PREFIX);
}
