import {
  IsNotEmpty,
  IsNotEmptyObject,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';

/** Body of POST /adjust-processor. */
export class AdjustProcessorRequestDto {
  /**
   * The processor to adjust.
   * @example "processor-123"
   */
  @IsString()
  @MaxLength(200)
  @Matches(/^[\w.:-]+$/, { message: 'processor_id may contain letters, digits, _ . : - only' })
  processor_id!: string;

  /**
   * The suggested changes, as a non-empty JSON object; passed to the backend as is.
   * @example {"parameter_x": "new_value", "optimization": "enabled"}
   */
  @IsObject()
  @IsNotEmptyObject()
  adjustments!: Record<string, unknown>;

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
