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
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { DomainError } from '../../errors/domain-error';
import { InputFileDto } from '../../files/dto/input-file.dto';
import { RawJson } from '../../http/json-body';
import { IsProcessorId } from '../../http/processor-id';
import { ExecuteRequestDto, IsRawJsonObject } from '../../execution/dto/execute-request.dto';

/** What one run of a batch's code gets: its own input_data, stdin and files. */
export class BatchInputDto {
  /** The global `input_data` of this run; a JSON object. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { n: 1 } })
  @IsOptional()
  @IsRawJsonObject()
  @Transform(({ obj }: { obj: { input_data?: unknown } }) => obj.input_data)
  input_data?: RawJson;

  /** What this run reads on stdin. */
  @IsOptional()
  @IsString()
  stdin?: string;

  /** Files put in this run's working directory. */
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => InputFileDto)
  files?: InputFileDto[];
}

/**
 * Body of POST /executions/batch: one code (or processor) over many `inputs`, or `items`
 * that are each a whole POST /execute body. The shared fields apply to every input.
 */
export class BatchRequestDto {
  /** The code every input runs (with `inputs`). */
  @ValidateIf(
    (body: BatchRequestDto) => body.inputs !== undefined && body.processor_id === undefined,
  )
  @IsString()
  @IsNotEmpty()
  code?: string;

  /** The processor whose code every input runs, fetched once from the backend (with `inputs`). */
  @IsOptional()
  @IsProcessorId()
  processor_id?: string;

  /** One run of `code` per input, in order. */
  @ValidateIf((body: BatchRequestDto) => body.items === undefined)
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => BatchInputDto)
  inputs?: BatchInputDto[];

  /** Whole execution requests, in order (instead of `code` and `inputs`). */
  @ValidateIf((body: BatchRequestDto) => body.inputs === undefined)
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ExecuteRequestDto)
  items?: ExecuteRequestDto[];

  /** Seconds each run may take (as on POST /execute). */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  timeout?: number;

  /** Memory of each run's container, in MiB (as on POST /execute). */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(16)
  memory_mb?: number;

  /** CPUs of each run's container (as on POST /execute). */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  cpus?: number;

  /** Processes of each run's container (as on POST /execute). */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(8)
  pids?: number;

  /** Capture each run's variables. */
  @IsOptional()
  @IsBoolean()
  debug_mode?: boolean;

  /** Profile each run (as on POST /execute). */
  @IsOptional()
  @IsBoolean()
  profile?: boolean;

  /**
   * Run every input in ONE container (with `inputs` only), each in a fresh worker forked
   * from the pristine harness, with its own working directory (wiped after it), time
   * limit, output cap and result; one that crashes, runs out of memory or hangs fails
   * alone. Much faster for many small inputs; the batch takes one queue slot, and
   * cancelling one of its executions cancels those of the batch not yet finished.
   */
  @IsOptional()
  @IsBoolean()
  shared_container?: boolean;

  /** Called back once per run, when it ends (as on POST /execute). */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  callback_url?: string;

  /**
   * The runtime every input runs in (as on POST /execute); a shared-container batch runs
   * in one runtime, this one.
   */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  runtime?: string;
}

/** The shared fields of a one-code batch, given to each of its inputs. */
const SHARED_FIELDS = [
  'code',
  'processor_id',
  'timeout',
  'memory_mb',
  'cpus',
  'pids',
  'debug_mode',
  'profile',
  'callback_url',
  'runtime',
] as const;

/**
 * The batch as one execution request per item, in order; VALIDATION_FAILED unless it
 * has exactly one of `inputs` and `items`, and `items` without the shared fields.
 */
export function batchItemsOf(body: BatchRequestDto): ExecuteRequestDto[] {
  if ((body.inputs === undefined) === (body.items === undefined)) {
    throw new DomainError('VALIDATION_FAILED', 'Give exactly one of inputs and items.', {
      fieldProblems: [{ field: 'inputs', messages: ['give exactly one of inputs and items'] }],
    });
  }
  if (body.items) {
    const shared = [...SHARED_FIELDS, 'shared_container' as const].filter(
      (field) => body[field] !== undefined,
    );
    if (shared.length > 0) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `${shared.join(', ')} apply to inputs; each of items carries its own.`,
        { fieldProblems: shared.map((field) => ({ field, messages: ['only with inputs'] })) },
      );
    }
    return body.items;
  }
  const shared = Object.fromEntries(
    SHARED_FIELDS.filter((field) => body[field] !== undefined).map((field) => [field, body[field]]),
  );
  return (body.inputs ?? []).map((input) =>
    Object.assign(new ExecuteRequestDto(), shared, {
      ...(input.input_data !== undefined && { input_data: input.input_data }),
      ...(input.stdin !== undefined && { stdin: input.stdin }),
      ...(input.files !== undefined && { files: input.files }),
    }),
  );
}
