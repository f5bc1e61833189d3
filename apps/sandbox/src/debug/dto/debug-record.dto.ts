import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { EXECUTION_STATUSES, ExecutionStatus } from '@brain-net/store';
import {
  ExceptionInfoDto,
  FigureDto,
  ModuleHintDto,
  ProfileDto,
  VariableDto,
} from '../../execution/dto/execution-result.dto';

/**
 * The limits and settings this execution ran with, as recorded when it was accepted,
 * whatever the service is configured with today.
 */
export class AppliedLimitsDto {
  /** The request's `memory_mb`, or SANDBOX_MEMORY_MB. @example 256 */
  @ApiProperty({ type: 'integer' })
  memory_mb!: number;
  /** The request's `cpus`, or SANDBOX_CPUS. @example 1 */
  cpus!: number;
  /** The request's `pids`, or SANDBOX_PIDS. @example 64 */
  @ApiProperty({ type: 'integer' })
  pids!: number;
  /** @example 64 */
  @ApiProperty({ type: 'integer' })
  tmpfs_mb!: number;
  /** @example 30 */
  @ApiProperty({ type: 'integer' })
  timeout_s!: number;
  /**
   * Cap on each of stdout and stderr, in bytes, as this execution had it. Null: unknown,
   * for executions recorded by a release from before run settings were kept (SQLite
   * schema version 5 or lower; in Redis, records written by such a release).
   * @example 1048576
   */
  @ApiProperty({ type: 'integer', nullable: true })
  max_output_bytes!: number | null;
  /**
   * The container's network mode (`none`: no interface but loopback). Null: unknown, as
   * for `max_output_bytes`.
   * @example "none"
   */
  network!: string | null;
  /** @example "10001:10001" */
  user!: string;
  /**
   * Whether the container's root file system was read-only. Null: unknown, as for
   * `max_output_bytes`.
   * @example true
   */
  read_only_root!: boolean | null;
  /**
   * The container runtime that ran the job: SANDBOX_RUNTIME (`runsc`: gVisor), or
   * `default` for the engine's default runtime (runc unless the engine sets another).
   * @example "runsc"
   */
  runtime!: string;
}

export class TimingsDto {
  /** Waiting for a free slot. @example 0 */
  @ApiProperty({ type: 'integer' })
  queued_ms!: number;
  /** Create, attach and start of the container. @example 130 */
  @ApiProperty({ type: 'integer' })
  container_start_ms!: number;
  /** Container start to exit. @example 42 */
  @ApiProperty({ type: 'integer' })
  run_ms!: number;
  /** Acceptance to the end. @example 180 */
  @ApiProperty({ type: 'integer' })
  total_ms!: number;
  /** Time spent in the user's code alone, as the harness measured it. @example 3.2 */
  code_ms!: number | null;
}

export class ResourceUsageDto {
  /** Peak resident memory of the code's process. @example 31457280 */
  @ApiProperty({ type: 'integer' })
  peak_memory_bytes!: number;
  /** User + system CPU time. @example 35.1 */
  cpu_time_ms!: number;
}

export class TruncationDto {
  stdout!: boolean;
  stderr!: boolean;
}

/** Everything known about one execution, for a client that wants to improve the code. */
export class DebugRecordDto {
  execution_id!: string;
  @ApiProperty({ enum: EXECUTION_STATUSES })
  status!: ExecutionStatus;
  processor_id!: string | null;
  /** The code that ran; null once the store budget dropped it (see `pruned`). */
  code!: string | null;
  /** The `stdin` the code was given; null when it was given none, or once pruned. */
  stdin!: string | null;
  @ApiProperty({
    description: 'The input_data the code was given, exactly as it was sent; null once pruned',
    type: 'object',
    additionalProperties: true,
  })
  input_data!: unknown;
  debug_mode!: boolean;
  /**
   * True when the store budget (STORE_MAX_MB) dropped this old record's bulky fields:
   * code, input, output, exceptions and variables are gone; status and times remain.
   */
  pruned!: boolean;
  error!: string | null;
  @ApiProperty({ type: 'integer', nullable: true })
  exit_code!: number | null;
  /** True when the memory limit killed the code. */
  oom_killed!: boolean;
  stdout!: string;
  stderr!: string;
  truncated!: TruncationDto;
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(VariableDto) },
    nullable: true,
    description: 'Globals after the run; null when debug_mode was false',
  })
  variables_after!: Record<string, VariableDto> | null;
  exceptions!: ExceptionInfoDto[];
  /** Where the time and memory went; null unless the request asked for `profile`. */
  @ApiProperty({ type: () => ProfileDto, nullable: true })
  profile!: ProfileDto | null;
  /** matplotlib figures, as in the result. */
  figures!: FigureDto[];
  @ApiProperty({ type: 'integer' })
  figures_omitted!: number;
  limits!: AppliedLimitsDto;
  /** Null until the execution has finished. */
  timings_ms!: TimingsDto | null;
  /** Null when the code's process could not report it (killed, say). */
  resource_usage!: ResourceUsageDto | null;
  /** The runtime image the container ran. @example "sha256:fc91b6..." */
  image_id!: string | null;
  /**
   * The runtime it ran in (the request's `runtime`, or the default one), whose image is
   * `image_id`; `limits.runtime` is the engine's container runtime, another thing. Null for
   * executions recorded before runtimes existed. @example "python-3.11"
   */
  @ApiProperty({ type: String, nullable: true })
  runtime!: string | null;
  /** Set when the code failed with ModuleNotFoundError: which runtimes have that module. */
  @ApiProperty({ type: () => ModuleHintDto, nullable: true })
  module_hint!: ModuleHintDto | null;
  @ApiProperty({ type: String, format: 'date-time' })
  created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  start_time!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  end_time!: string | null;
}
