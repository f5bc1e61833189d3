import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { InputFileDto } from '../../files/dto/input-file.dto';
import { RawJson } from '../../http/json-body';
import { IsProcessorId } from '../../http/processor-id';

/** input_data arrives as RawJson (see parseJsonBody): it must hold a JSON object. */
export function IsRawJsonObject(): PropertyDecorator {
  return ValidateBy({
    name: 'isRawJsonObject',
    validator: {
      validate: (value: unknown) => value instanceof RawJson && value.kind === 'object',
      defaultMessage: () => 'input_data must be a JSON object',
    },
  });
}

/** Body of POST /execute. */
export class ExecuteRequestDto {
  /**
   * Python 3.11 source to run. `input_data` is bound as a global variable. Leave it out
   * to run the code the backend holds for `processor_id`.
   * @example "result = 2 + 2\nprint(f\"Result: {result}\")"
   */
  @ValidateIf(
    (body: ExecuteRequestDto) => body.processor_id === undefined || body.code !== undefined,
  )
  @IsString()
  @IsNotEmpty()
  code?: string;

  /**
   * The processor this code belongs to. Without `code`, the processor's code is fetched
   * from the backend (BACKEND_PROCESSOR_PATH) and run.
   * @example "processor-123"
   */
  @IsOptional()
  @IsProcessorId()
  processor_id?: string;

  /**
   * Any JSON object, nested at most MAX_INPUT_DEPTH levels; the code sees it as the
   * global `input_data`. Kept and forwarded as the text it arrived as.
   */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { key: 'value' },
  })
  @IsOptional()
  @IsRawJsonObject()
  // The parsed body already holds a RawJson: keep that very instance.
  @Transform(({ obj }: { obj: { input_data?: unknown } }) => obj.input_data)
  input_data?: RawJson;

  /**
   * Seconds before the container is killed (1..MAX_TIMEOUT, default EXECUTION_TIMEOUT).
   * @example 30
   */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  timeout?: number;

  /**
   * What the code reads on stdin (`input()`, `sys.stdin.read()`, `for line in sys.stdin`),
   * then end of file; at most MAX_STDIN_BYTES in UTF-8 (beyond it 413 STDIN_TOO_LARGE).
   * Without it stdin is empty: the first `input()` raises EOFError.
   * @example "3\n1 2 3\n"
   */
  @IsOptional()
  @IsString()
  stdin?: string;

  /**
   * Files put in the code's working directory before it starts, inline or uploaded
   * earlier (`POST /files`): at most MAX_INPUT_FILES entries and MAX_INPUT_FILES_MB
   * together. What the code writes under `out/` comes back in the result's `files`.
   */
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => InputFileDto)
  files?: InputFileDto[];

  /**
   * Memory limit of the container, in MiB (16..MAX_MEMORY_MB, default SANDBOX_MEMORY_MB);
   * swap is set equal to it. Beyond it the code is killed (`oom_killed`).
   * @example 512
   */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(16)
  memory_mb?: number;

  /**
   * CPU quota of the container, in CPUs (0.01..MAX_CPUS, default SANDBOX_CPUS; 1 = one
   * full core).
   * @example 1.5
   */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  cpus?: number;

  /**
   * Processes and threads the container may hold (8..MAX_PIDS, default SANDBOX_PIDS).
   * @example 128
   */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(8)
  pids?: number;

  /**
   * Capture `variables_after` (the code's globals after the run). Exceptions are always captured.
   * @example true
   */
  @IsOptional()
  @IsBoolean()
  debug_mode?: boolean;

  /**
   * Profile the run: the debug info's `profile` names the functions that took the time
   * (cProfile, the submitted code's first), the lines that held the most memory near its
   * peak (tracemalloc) and the imports' wall times. Off by default: it slows
   * pure-Python code.
   * @example false
   */
  @IsOptional()
  @IsBoolean()
  profile?: boolean;

  /**
   * Where the finished result is POSTed once (signed with Standard Webhooks, retried
   * while the receiver fails): its host must be in CALLBACK_ALLOWED_HOSTS, else
   * `400 CALLBACK_URL_REFUSED`. See the API guide's Callbacks section.
   * @example "https://hooks.example.org/sandbox"
   */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  callback_url?: string;

  /**
   * The runtime to run in: an image with its own Python and packages (`GET /runtimes`
   * lists them). Default: the service's default runtime. A name the service does not
   * know is `400 UNKNOWN_RUNTIME`, which lists the known ones.
   * @example "python-3.11"
   */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  runtime?: string;
}

/** Query of POST /execute. */
export class ExecuteQueryDto {
  /** Answer with the finished result instead of 202 and an id. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  wait?: boolean;
}
