import path from 'node:path';

import { type DynamicModule, Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';

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

import { CONSOLE_PATH, consoleRoot } from './console.js';
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
        ServeStaticModule.forRoot({
          rootPath: consoleRoot(),
          serveRoot: CONSOLE_PATH,
          // The console routes in the fragment: only /console/ itself is its page.
          renderPath: '/',
          serveStaticOptions: {
            setHeaders: (res, file) =>
              res.setHeader(
                'Cache-Control',
                file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
              ),
          },
        }),
      ],
    };
  }
}
