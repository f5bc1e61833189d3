import { Module } from '@nestjs/common';
import { RuntimeCatalog } from './runtime-catalog';
import { RuntimesController } from './runtimes.controller';

/** The runtimes a request may pick (SANDBOX_RUNTIMES): GET /runtimes, and what their images hold. */
@Module({
  controllers: [RuntimesController],
  providers: [RuntimeCatalog],
  exports: [RuntimeCatalog],
})
export class RuntimesModule {}
