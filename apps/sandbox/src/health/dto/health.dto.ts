import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import type { HealthCheckResult } from '@nestjs/terminus';

export class HealthIndicatorDto {
  @ApiProperty({ enum: ['up', 'down'] })
  status!: 'up' | 'down';
  /** Why it is down, when it is. */
  message?: string;
}

export class ExecutionStatisticsDto {
  /** Finished executions since start, by status. @example {"completed": 12, "failed": 1, "timeout": 0, "cancelled": 0, "queued": 0, "running": 0} */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' } })
  totals!: Record<string, number>;
  /** @example 1 */
  @ApiProperty({ type: 'integer' })
  running!: number;
  /** @example 0 */
  @ApiProperty({ type: 'integer', nullable: true })
  queued!: number | null;
  /** Mean run time (container start to end) of the executions since start, ms. @example 180.5 */
  mean_execution_ms!: number | null;
  /** 95th percentile of the run times of the last 10 minutes or so, ms. @example 410 */
  p95_execution_ms!: number | null;
  /** @example 3600.2 */
  uptime_s!: number;
  /** Adjustments by delivery state; null while they cannot be counted (Redis away). @example {"pending": 0, "delivered": 4, "failed": 0} */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, nullable: true })
  adjustments!: Record<string, number> | null;
}

/** Terminus' answer, plus execution statistics. */
@ApiExtraModels(HealthIndicatorDto)
export class HealthDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] })
  status!: 'ok' | 'error' | 'shutting_down';
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(HealthIndicatorDto) },
  })
  info?: HealthCheckResult['info'];
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(HealthIndicatorDto) },
  })
  error?: HealthCheckResult['error'];
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(HealthIndicatorDto) },
  })
  details!: HealthCheckResult['details'];
  statistics?: ExecutionStatisticsDto;
}
