import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import {
  CALLBACK_STATUSES,
  CallbackState,
  CallbackStatus,
  EXECUTION_STATUSES,
  ExecutionFigure,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionSummary,
  ModuleHint,
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

/** A column of a DataFrame preview. */
export class PreviewColumnDto {
  /** @example "price" */
  name!: string;
  /** @example "float64" */
  dtype!: string;
  /** Missing values in the whole column; null when there was no time to count them. @example 2 */
  @ApiProperty({ type: 'integer', nullable: true })
  nulls!: number | null;
}

/**
 * A pandas DataFrame or Series, or a numpy array, as data: its shape, types and first
 * values. Values are JSON-safe: NaN, NaT and None are null, timestamps ISO 8601 strings,
 * categories their value, other objects their str (bounded).
 */
export class VariablePreviewDto {
  @ApiProperty({ enum: ['dataframe', 'series', 'ndarray'] })
  kind!: 'dataframe' | 'series' | 'ndarray';
  /** Of the whole value: [rows, columns] for a DataFrame. @example [1000, 3] */
  @ApiProperty({ type: 'array', items: { type: 'integer' } })
  shape!: number[];
  /** DataFrame: its first columns. */
  columns?: PreviewColumnDto[];
  @ApiProperty({ type: 'integer', required: false })
  columns_omitted?: number;
  /** DataFrame: its first rows, each the shown columns' cells. @example [[1.5, "a", null]] */
  @ApiProperty({ required: false, type: 'array', items: { type: 'array', items: {} } })
  rows?: unknown[][];
  @ApiProperty({ type: 'integer', required: false })
  rows_omitted?: number;
  /** DataFrame and Series: the index labels of the rows or values shown. */
  @ApiProperty({ required: false, type: 'array', items: {} })
  index?: unknown[];
  /** Series and ndarray: the element type. @example "float64" */
  dtype?: string;
  /** Series: its name. */
  @ApiProperty({ type: String, nullable: true, required: false })
  name?: string | null;
  /** Series: missing values in the whole series (null: not counted in time). */
  @ApiProperty({ type: 'integer', nullable: true, required: false })
  nulls?: number | null;
  /** Series: its first values; ndarray: its first values in C order, flattened. */
  @ApiProperty({ required: false, type: 'array', items: {} })
  values?: unknown[];
  @ApiProperty({ type: 'integer', required: false })
  values_omitted?: number;
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
  /** A DataFrame, Series or numpy array as data, beside its repr. */
  preview?: VariablePreviewDto;
}

/** A function the profiler timed. */
export class ProfiledFunctionDto {
  /** @example "slow_sum" */
  function!: string;
  /** @example "main.py" */
  file!: string;
  @ApiProperty({ type: 'integer', nullable: true })
  line!: number | null;
  @ApiProperty({ type: 'integer' })
  calls!: number;
  /** In the function itself. @example 812.4 */
  self_ms!: number;
  /** With what it called. @example 930.1 */
  cumulative_ms!: number;
  /** Defined in the submitted code (these come first). */
  user_code!: boolean;
}

/** Where memory was allocated: bytes still held at the sample nearest the peak. */
export class AllocationSiteDto {
  /** @example "main.py" */
  file!: string;
  /** @example 7 */
  @ApiProperty({ type: 'integer', nullable: true })
  line!: number | null;
  @ApiProperty({ type: 'integer' })
  bytes!: number;
  @ApiProperty({ type: 'integer' })
  blocks!: number;
  /** @example "rows = [list(range(100)) for _ in range(10000)]" */
  source!: string | null;
}

export class ImportTimeDto {
  /** @example "pandas" */
  module!: string;
  /** Wall time of the import. @example 310.5 */
  ms!: number;
}

/** Where the time and memory went (`profile: true`). */
export class ProfileDto {
  /** By cumulative time, the submitted code's functions first. */
  functions!: ProfiledFunctionDto[];
  @ApiProperty({ type: 'integer' })
  functions_omitted!: number;
  /** By size, attributed to the submitted code's lines where they are on the stack. */
  allocations!: AllocationSiteDto[];
  /** Peak of the memory Python allocated while the code ran (tracemalloc). */
  @ApiProperty({ type: 'integer' })
  peak_traced_bytes!: number;
  /** Modules the code imported that were not loaded yet, slowest first. */
  imports!: ImportTimeDto[];
  @ApiProperty({ type: 'integer' })
  imports_omitted!: number;
  /** What kept part of the profile from being taken; null when all of it is there. */
  error!: string | null;
}

/** A matplotlib figure the code showed (`plt.show()`) or left open. */
export class FigureDto {
  /** Its place among the run's figures, from 0. @example 0 */
  @ApiProperty({ type: 'integer' })
  index!: number;
  /** Its suptitle, else its first axes' title. @example "Loss by epoch" */
  title!: string | null;
  /** In pixels; null when it has no image (see `error`). @example 640 */
  @ApiProperty({ type: 'integer', nullable: true })
  width!: number | null;
  @ApiProperty({ type: 'integer', nullable: true })
  height!: number | null;
  /** Bytes of its PNG. @example 23145 */
  @ApiProperty({ type: 'integer', nullable: true })
  size!: number | null;
  /** @example "image/png" */
  media_type!: string;
  /** Where its PNG is: GET /execution/{id}/figures/{index}; null without an image. */
  url!: string | null;
  /** Why it has no image (it raised while rendering, say); null when it has one. */
  error!: string | null;
}

// VariableDto is named only through additionalProperties, which the document does not follow.
@ApiExtraModels(VariableDto)
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
  /** Where the time and memory went; null unless the request asked for `profile`. */
  @ApiProperty({ type: () => ProfileDto, nullable: true })
  profile!: ProfileDto | null;
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

/** For code that failed with ModuleNotFoundError: which runtimes have the module. */
export class ModuleHintDto {
  /** The top-level module that was not found. @example "sklearn" */
  module!: string;
  /**
   * The runtimes whose images have it, as they were when the run ended: submit again with
   * one of them as `runtime`. Empty: none has it. @example ["python-3.11"]
   */
  runtimes!: string[];
  /** Runtimes whose images could not be checked then (missing, say): they may have it. @example [] */
  unchecked!: string[];
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
  /** matplotlib figures, in the order they were shown or left open; empty when none. */
  figures!: FigureDto[];
  /** Figures past MAX_FIGURES or MAX_FIGURES_MB: neither rendered nor listed. @example 0 */
  @ApiProperty({ type: 'integer' })
  figures_omitted!: number;
  /**
   * The runtime it runs in: the request's `runtime`, or the default one. Null for
   * executions recorded before runtimes existed (they ran on SANDBOX_IMAGE).
   * @example "python-3.11"
   */
  @ApiProperty({ type: String, nullable: true })
  runtime!: string | null;
  /** Set when the code failed with ModuleNotFoundError: which runtimes have that module. */
  @ApiProperty({ type: () => ModuleHintDto, nullable: true })
  module_hint!: ModuleHintDto | null;
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
      profile: record.profile,
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
    figures: (record.figures?.figures ?? []).map((figure) => toFigure(record.id, figure)),
    figures_omitted: record.figures?.omittedCount ?? 0,
    runtime: record.runtime,
    module_hint: toModuleHint(record.moduleHint),
  };
}

export function toFigure(executionId: string, figure: ExecutionFigure): FigureDto {
  const { index, title, image, error } = figure;
  return {
    index,
    title,
    width: image?.width ?? null,
    height: image?.height ?? null,
    size: image?.size ?? null,
    media_type: 'image/png',
    url: image ? `${executionLocation(executionId)}/figures/${index}` : null,
    error,
  };
}

export function toModuleHint(hint: ModuleHint | null): ModuleHintDto | null {
  return (
    hint && { module: hint.module, runtimes: [...hint.runtimes], unchecked: [...hint.unchecked] }
  );
}

/** Where an execution is read: the seed's path (GET /executions/{id} is its alias). */
export function executionLocation(id: string): string {
  return `/execution/${encodeURIComponent(id)}`;
}
