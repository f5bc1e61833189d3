import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/**
 * A plain identifier: a letter or digit, then letters, digits, `_ . : -`, without `..`.
 * The id becomes a path segment on the backend: `.` and `..` would be folded away by
 * URL parsing (`/api/processors/..` is `/api/`).
 */
export const PROCESSOR_ID_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][\w.:-]*$/;
export const PROCESSOR_ID_MAX_LENGTH = 200;

/** Validates a processor_id field (both routes that take one), and documents its form. */
export function IsProcessorId(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: String,
      pattern: PROCESSOR_ID_PATTERN.source,
      maxLength: PROCESSOR_ID_MAX_LENGTH,
    }),
    IsString(),
    MaxLength(PROCESSOR_ID_MAX_LENGTH),
    Matches(PROCESSOR_ID_PATTERN, {
      message:
        'processor_id must start with a letter or digit, then letters, digits, _ . : - only, without ..',
    }),
  );
}
