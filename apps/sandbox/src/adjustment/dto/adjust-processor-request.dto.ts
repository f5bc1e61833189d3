import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsOptional, IsString, MaxLength, ValidateBy } from 'class-validator';
import { RawJson } from '../../http/json-body';
import { IsProcessorId } from '../../http/processor-id';

/** adjustments arrives as RawJson (see parseJsonBody): it must hold a non-empty JSON object. */
function IsNonEmptyRawJsonObject(): PropertyDecorator {
  return ValidateBy({
    name: 'isNonEmptyRawJsonObject',
    validator: {
      validate: (value: unknown) =>
        value instanceof RawJson && value.kind === 'object' && !/^\{\s*\}$/.test(value.text),
      defaultMessage: () => 'adjustments must be a non-empty JSON object',
    },
  });
}

/** Body of POST /adjust-processor. */
export class AdjustProcessorRequestDto {
  /**
   * The processor to adjust.
   * @example "processor-123"
   */
  @IsProcessorId()
  processor_id!: string;

  /**
   * The suggested changes, as a non-empty JSON object; kept and passed to the backend as
   * the text it arrived as, whatever its keys.
   */
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { parameter_x: 'new_value', optimization: 'enabled' },
  })
  @IsNonEmptyRawJsonObject()
  // The parsed body already holds a RawJson: keep that very instance.
  @Transform(({ obj }: { obj: { adjustments?: unknown } }) => obj.adjustments)
  adjustments!: RawJson;

  /**
   * Why the changes are suggested.
   * @example "Performance improvement based on execution results"
   */
  @IsString()
  @IsNotEmpty()
  @MaxLength(5000)
  reason!: string;

  /**
   * The execution whose results led to the suggestion.
   * @example "5b0f8c1e-3c1d-4a59-9f7e-0a8f1a2b3c4d"
   */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  execution_id?: string;
}
