import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { Response } from 'express';
import { AdjustmentOutbox } from '../adjustment/adjustment-outbox';
import { Public, RequireScope } from '../auth/access.decorators';
import { ExecutionStatistics } from '../execution/execution-statistics';
import { ExecutionService } from '../execution/execution.service';
import { EngineStatusService } from '../execution/engine-status.service';
import { HealthDto } from './dto/health.dto';
import { SandboxHealthIndicators } from './sandbox-health.indicators';

const startedAt = Date.now();

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: SandboxHealthIndicators,
    private readonly statistics: ExecutionStatistics,
    private readonly executions: ExecutionService,
    private readonly adjustments: AdjustmentOutbox,
    private readonly engine: EngineStatusService,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getHealth',
    summary: 'Engine, runtime image and queue, plus execution statistics',
  })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'A dependency is down' })
  async check(@Res({ passthrough: true }) response: Response): Promise<HealthDto> {
    const checks = this.indicators.readinessChecks();
    if (this.engine.watching) checks.push(() => this.indicators.containers());
    const result = await this.run(response, checks);
    const snapshot = this.statistics.snapshot();
    const load = await this.executions.load().catch(() => null);
    return {
      ...result,
      statistics: {
        totals: snapshot.totals,
        running: this.executions.runningCount,
        queued: load?.waiting ?? null,
        mean_execution_ms: snapshot.meanExecutionMs,
        p95_execution_ms: snapshot.p95ExecutionMs,
        uptime_s: (Date.now() - startedAt) / 1000,
        // Unknown (null) while the outbox cannot answer: Redis away, say.
        adjustments: await this.adjustments.countByStatus().catch(() => null),
      },
    };
  }

  @Get('live')
  @Public()
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the process answers' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    // Not through terminus: from shutdown on it answers 503 "shutting_down" to every
    // check, and a process that is draining its executions is alive all the same.
    return { status: 'ok', info: {}, error: {}, details: {} };
  }

  @Get('ready')
  @Public()
  @ApiOperation({
    operationId: 'getReadiness',
    summary:
      'Readiness: not shutting down; Redis answers (cluster mode); engine reachable and the image of every runtime present (instances that run executions); store writable; queue not saturated',
  })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'Not ready for work' })
  ready(@Res({ passthrough: true }) response: Response): Promise<HealthDto> {
    return this.run(response, this.indicators.readinessChecks());
  }

  /** Terminus signals "down" by throwing; a probe wants the same body with a 503. */
  private async run(
    response: Response,
    indicators: HealthIndicatorFunction[],
  ): Promise<HealthCheckResult> {
    try {
      return await this.health.check(indicators);
    } catch (error: unknown) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
