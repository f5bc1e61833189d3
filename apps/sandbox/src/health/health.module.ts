import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ExecutionModule } from '../execution/execution.module';
import { HealthController } from './health.controller';
import { SandboxHealthIndicators } from './sandbox-health.indicators';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ExecutionModule],
  controllers: [HealthController],
  providers: [SandboxHealthIndicators],
})
export class HealthModule {}
