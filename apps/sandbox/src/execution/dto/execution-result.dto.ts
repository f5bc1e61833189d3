import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import {
  EXECUTION_STATUSES,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionSummary,
} from '@brain-net/store';

export class TracebackFrameDto {
  /** @example "main.py" */
  file!: string;
  /** @example 3 */
  line!: number | null;
  /** @example "<module>" */
  function!: string;
  /** @example "x = 1 / 0" */
  source!: string | null;
}

export class ExceptionInfoDto {
  /** @example "ZeroDivisionError" */
  type!: string;
  /** @example "division by zero" */
  message!: string;
  /** Innermost line of the user's code involved. @example 3 */
  line!: number | null;
  /** Outermost call first; the sandbox's own frames are left out. */
  frames!: TracebackFrameDto[];
  /** Frames left out of a very deep traceback (the outermost 10 and innermost 40 are kept). */
  frames_omitted!: number;
  /** The exception this one was raised from (`raise ... from`) or during the handling of. */
  @ApiProperty({ type: () => ExceptionInfoDto, nullable: true })
  cause!: ExceptionInfoDto | null;
  @ApiProperty({ enum: ['cause', 'context'], nullable: true })
  cause_relation!: 'cause' | 'context' | null;
}

export class VariableDto {
  /** Python type name. @example "int" */
  type!: string;
  /** The value, when it is representable as JSON. @example 4 */
  @ApiProperty({ required: false, description: 'The value, when JSON can represent it' })
  value?: unknown;
  /** A bounded repr, when JSON cannot represent the value. */
  repr?: string;
  /** True when the value or repr was cut to its bounds. */
  truncated!: boolean;
}

export class DebugInfoDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(VariableDto) },
    nullable: true,
    description: 'Globals after the run (no modules, no dunders); null unless debug_mode',
    example: { result: { type: 'int', value: 4, truncated: false } },
  })
  variables_after!: Record<string, VariableDto> | null;
  exceptions!: ExceptionInfoDto[];
}

/** An execution as the API shows it. */
export class ExecutionResultDto {
  /** @example "5b0f8c1e-3c1d-4a59-9f7e-0a8f1a2b3c4d" */
  execution_id!: string;
  /** The tenant it belongs to. @example "default" */
  tenant!: string;
  @ApiProperty({ enum: EXECUTION_STATUSES, example: 'completed' })
  status!: ExecutionStatus;
  /** @example "processor-123" */
  processor_id!: string | null;
  /** stdout. @example "Result: 4\n" */
  output!: string;
  /** stderr, kept apart from stdout. @example "" */
  stderr!: string;
  /** What went wrong, in one line; null when completed. @example null */
  error!: string | null;
  /** The process's exit code (128 + n when signal n killed it). @example 0 */
  exit_code!: number | null;
  /** True when stdout or stderr was cut at MAX_OUTPUT_BYTES. @example false */
  truncated!: boolean;
  debug_info!: DebugInfoDto;
  /** When the request was accepted (ISO 8601). */
  created_at!: string;
  /** When the container started (ISO 8601). */
  start_time!: string | null;
  /** When the execution ended (ISO 8601). */
  end_time!: string | null;
  /** Seconds from container start to end. @example 0.042 */
  execution_time!: number | null;
}

/** Answer of POST /execute without `wait`. */
export class ExecutionAcceptedDto {
  execution_id!: string;
  @ApiProperty({ enum: EXECUTION_STATUSES, example: 'queued' })
  status!: ExecutionStatus;
}

/** One execution in a listing (its output and debug info are at GET /execution/{id}). */
export class ExecutionSummaryDto {
  execution_id!: string;
  /** The tenant it belongs to. @example "default" */
  tenant!: string;
  @ApiProperty({ enum: EXECUTION_STATUSES })
  status!: ExecutionStatus;
  processor_id!: string | null;
  error!: string | null;
  exit_code!: number | null;
  created_at!: string;
  start_time!: string | null;
  end_time!: string | null;
  execution_time!: number | null;
}

export class ExecutionListDto {
  items!: ExecutionSummaryDto[];
  /** The executions the service remembers that match the query's filters, on every page. */
  total!: number;
  page!: number;
  limit!: number;
}

export function toExecutionSummary(record: ExecutionSummary): ExecutionSummaryDto {
  return {
    execution_id: record.id,
    tenant: record.tenant,
    status: record.status,
    processor_id: record.processorId,
    error: record.error,
    exit_code: record.exitCode,
    created_at: record.queuedAt.toISOString(),
    start_time: record.startedAt?.toISOString() ?? null,
    end_time: record.endedAt?.toISOString() ?? null,
    execution_time:
      record.startedAt && record.endedAt
        ? (record.endedAt.getTime() - record.startedAt.getTime()) / 1000
        : null,
  };
}

export function toExecutionResult(record: ExecutionRecord): ExecutionResultDto {
  return {
    ...toExecutionSummary(record),
    output: record.stdout,
    stderr: record.stderr,
    truncated: record.truncated.stdout || record.truncated.stderr,
    debug_info: {
      variables_after: record.variablesAfter,
      exceptions: record.exceptions,
    },
  };
}
