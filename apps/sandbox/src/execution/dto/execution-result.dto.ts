import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import {
  CALLBACK_STATUSES,
  CallbackState,
  CallbackStatus,
  EXECUTION_STATUSES,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionSummary,
} from '@brain-net/store';

export class TracebackFrameDto {
  /** @example "main.py" */
  file!: string;
  /** @example 3 */
  @ApiProperty({ type: 'integer', nullable: true })
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
  @ApiProperty({ type: 'integer', nullable: true })
  line!: number | null;
  /** Outermost call first; the sandbox's own frames are left out. */
  frames!: TracebackFrameDto[];
  /** Frames left out of a very deep traceback (the outermost 10 and innermost 40 are kept). */
  @ApiProperty({ type: 'integer' })
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

/** A file the code wrote under `out/`, kept with the execution. */
export class OutputFileDto {
  /** Relative to `out/`. @example "chart.png" */
  path!: string;
  /** @example 20481 */
  @ApiProperty({ type: 'integer' })
  size!: number;
  /** From the file's name. @example "image/png" */
  media_type!: string;
  /** Hex SHA-256 of its bytes. */
  sha256!: string;
  /** Where its bytes are: GET /execution/{id}/files/{path}. @example "/execution/5b0f8c1e-3c1d-4a59-9f7e-0a8f1a2b3c4d/files/chart.png" */
  url!: string;
}

/** A file under `out/` left out: over MAX_OUTPUT_FILES or MAX_OUTPUT_FILES_MB. */
export class OmittedFileDto {
  /** @example "big.parquet" */
  path!: string;
  @ApiProperty({ type: 'integer' })
  size!: number;
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
  @ApiProperty({ type: 'integer', nullable: true })
  exit_code!: number | null;
  /** True when stdout or stderr was cut at MAX_OUTPUT_BYTES. @example false */
  truncated!: boolean;
  debug_info!: DebugInfoDto;
  /** When the request was accepted (ISO 8601). */
  @ApiProperty({ type: String, format: 'date-time' })
  created_at!: string;
  /** When the container started (ISO 8601). */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  start_time!: string | null;
  /** When the execution ended (ISO 8601). */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  end_time!: string | null;
  /** Seconds from container start to end. @example 0.042 */
  execution_time!: number | null;
  /** The batch it was submitted in; null for a single submit. */
  @ApiProperty({ type: String, nullable: true })
  batch_id!: string | null;
  /** Its place in that batch, from 0. */
  @ApiProperty({ type: 'integer', nullable: true })
  batch_index!: number | null;
  /** The files the code wrote under `out/` (its working directory's), whole, in path order. */
  files!: OutputFileDto[];
  /** True when files under `out/` were left out (`files_omitted` names up to 100). */
  files_truncated!: boolean;
  files_omitted!: OmittedFileDto[];
}

/** Where the callback of an execution stands. */
export class CallbackStatusDto {
  /** The request's `callback_url`. @example "https://hooks.example.org/sandbox" */
  url!: string;
  /**
   * `waiting`: no attempt yet (the execution runs, or its first attempt is due);
   * `pending`: an attempt failed, another follows; `delivered`: answered 2xx;
   * `failed`: given up (`last_error` says why).
   */
  @ApiProperty({ enum: CALLBACK_STATUSES, example: 'delivered' })
  status!: CallbackStatus;
  /** Attempts made so far. @example 1 */
  @ApiProperty({ type: 'integer' })
  attempts!: number;
  /** Why the last failed attempt failed. @example null */
  last_error!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  delivered_at!: string | null;
}

/** An execution as GET /execution/{id} shows it: its result, and its callback. */
export class ExecutionDetailsDto extends ExecutionResultDto {
  @ApiProperty({
    type: () => CallbackStatusDto,
    nullable: true,
    description: 'null without callback_url (or once its delivery state is no longer kept)',
  })
  callback!: CallbackStatusDto | null;
}

export function toCallbackStatus(url: string, state: CallbackState): CallbackStatusDto {
  return {
    url,
    status: state.status,
    attempts: state.attempts,
    last_error: state.lastError,
    delivered_at: state.deliveredAt?.toISOString() ?? null,
  };
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
  @ApiProperty({ type: 'integer', nullable: true })
  exit_code!: number | null;
  @ApiProperty({ type: String, format: 'date-time' })
  created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  start_time!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  end_time!: string | null;
  execution_time!: number | null;
  /** The batch it was submitted in; null for a single submit. */
  @ApiProperty({ type: String, nullable: true })
  batch_id!: string | null;
  /** Its place in that batch, from 0. */
  @ApiProperty({ type: 'integer', nullable: true })
  batch_index!: number | null;
}

export class ExecutionListDto {
  items!: ExecutionSummaryDto[];
  /** The executions the service remembers that match the query's filters, on every page. */
  @ApiProperty({ type: 'integer' })
  total!: number;
  @ApiProperty({ type: 'integer' })
  page!: number;
  @ApiProperty({ type: 'integer' })
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
    batch_id: record.batchId,
    batch_index: record.batchIndex,
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
    files: (record.outputFiles?.files ?? []).map((file) => ({
      path: file.path,
      size: file.size,
      media_type: file.mediaType,
      sha256: file.sha256,
      url: `${executionLocation(record.id)}/files/${file.path.split('/').map(encodeURIComponent).join('/')}`,
    })),
    files_truncated: (record.outputFiles?.omittedCount ?? 0) > 0,
    files_omitted: (record.outputFiles?.omitted ?? []).map(({ path, size }) => ({ path, size })),
  };
}

/** Where an execution is read: the seed's path (GET /executions/{id} is its alias). */
export function executionLocation(id: string): string {
  return `/execution/${encodeURIComponent(id)}`;
}
