import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { EXECUTION_STATUSES, ExecutionStatus } from '@brain-net/store';
import { ExecutionResultDto } from '../../execution/dto/execution-result.dto';

/** Answer of POST /executions/batch without `wait`. */
export class BatchAcceptedDto {
  /** @example "0b5e9c1e-7a2d-4c1f-9e3b-2f6a8d4c1b7e" */
  batch_id!: string;
  /** The executions of the batch, in the order of its inputs or items. */
  execution_ids!: string[];
}

/** How many of a batch's executions are in each status. */
export class BatchCountsDto {
  @ApiProperty({ type: 'integer' }) queued!: number;
  @ApiProperty({ type: 'integer' }) running!: number;
  @ApiProperty({ type: 'integer' }) completed!: number;
  @ApiProperty({ type: 'integer' }) failed!: number;
  @ApiProperty({ type: 'integer' }) timeout!: number;
  @ApiProperty({ type: 'integer' }) cancelled!: number;
}

/** A batch: its counts by status, and one page of its results in order. */
export class BatchDto {
  batch_id!: string;
  /** `running` while any execution is queued or running, then `finished`. */
  @ApiProperty({ enum: ['running', 'finished'] })
  status!: 'running' | 'finished';
  /** Executions in the batch. */
  @ApiProperty({ type: 'integer' })
  total!: number;
  counts!: BatchCountsDto;
  /** This page's executions, in the batch's order. */
  items!: ExecutionResultDto[];
  @ApiProperty({ type: 'integer' })
  page!: number;
  @ApiProperty({ type: 'integer' })
  limit!: number;
}

/** Query of GET /batches/{id}. */
export class BatchQueryDto {
  /** 1-based page of results. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  page: number = 1;

  /** Results per page (1..100). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
}

/** Counts of each status among `statuses`, every status present. */
export function countsOf(statuses: readonly ExecutionStatus[]): BatchCountsDto {
  const counts = Object.fromEntries(EXECUTION_STATUSES.map((status) => [status, 0])) as Record<
    ExecutionStatus,
    number
  >;
  for (const status of statuses) counts[status] += 1;
  return counts;
}
