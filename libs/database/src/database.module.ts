import { Global, Module } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { DATABASE_OPTIONS, type DatabaseOptions } from './database.options.js';
import { DatabaseHealth } from './database-health.js';
import { DatabaseNotifications } from './database-notifications.js';
import { PrismaService } from './prisma.service.js';
import { TransactionRunner } from './transaction-runner.js';

@Global()
@Module({
  providers: [
    {
      provide: DATABASE_OPTIONS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): DatabaseOptions => ({
        url: config.databaseUrl,
        directUrl: config.databaseDirectUrl,
        poolMax: config.databasePoolMax,
        lockTimeoutMs: config.lockTimeoutMs,
        throughPooler: config.databaseDirectUrl !== config.databaseUrl,
        preparedStatements: config.databasePreparedStatements,
      }),
    },
    PrismaService,
    TransactionRunner,
    DatabaseNotifications,
    DatabaseHealth,
  ],
  exports: [PrismaService, TransactionRunner, DatabaseNotifications, DatabaseHealth],
})
export class DatabaseModule {}
