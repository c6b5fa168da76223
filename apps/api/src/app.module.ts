import { type DynamicModule, Module } from '@nestjs/common';

import { AuditModule } from '@app/audit';
import { AuthModule } from '@app/auth';
import { type AppConfig, AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EngineersModule } from '@app/engineers';
import { HttpModule } from '@app/http';
import { IncidentsModule } from '@app/incidents';
import { LoggingModule, ObservabilityModule } from '@app/observability';
import { ReviewsModule } from '@app/reviews';
import { SlaModule } from '@app/sla';

import { HealthModule } from './health/health.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggingModule,
        ObservabilityModule,
        DatabaseModule,
        HttpModule,
        AuthModule,
        AuditModule,
        EngineersModule,
        IncidentsModule,
        ReviewsModule,
        SlaModule,
        HealthModule,
      ],
    };
  }
}
