import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsUUID, ValidateBy } from 'class-validator';
import { EXECUTION_STATUSES, ExecutionFilter, ExecutionStatus } from '@brain-net/store';
import { ListQueryDto } from '../../http/page.query.dto';
import { IsProcessorId } from '../../http/processor-id';

/**
 * An ISO 8601 date-time with its offset, as RFC 3339 writes it: `2026-12-07T08:00:00Z`,
 * `2026-12-07T09:00:00.123456+01:00`. Without an offset the moment would depend on the
 * server's time zone: refused.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The moment a date-time names, in whole milliseconds rounded up (a store keeps
 * milliseconds: `.0005` must not take in what was queued at `.000`); undefined when the
 * text is not a date-time or names a day or time that does not exist.
 */
export function parseDateTime(text: string): Date | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', offset] = match;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number);
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  probe.setUTCFullYear(y); // years 0..99 are not 1900..1999
  if (
    probe.getUTCMonth() !== mo - 1 ||
    probe.getUTCDate() !== d ||
    probe.getUTCHours() !== h ||
    probe.getUTCMinutes() !== mi ||
    probe.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  let offsetMs = 0;
  if (offset.toUpperCase() !== 'Z') {
    const [offsetHours, offsetMinutes] = offset.slice(1).split(':').map(Number);
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    offsetMs = (offset.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  const wholeMs = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const beyondMs = /[1-9]/.test(fraction.slice(3)) ? 1 : 0;
  return new Date(probe.getTime() + wholeMs + beyondMs - offsetMs);
}

function IsDateTime(): PropertyDecorator {
  return ValidateBy({
    name: 'isDateTime',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && parseDateTime(value) !== undefined,
      defaultMessage: () =>
        'since must be an ISO 8601 date-time with a time zone, such as 2026-12-07T08:00:00Z',
    },
  });
}

/** `a,b` and `?status=a&status=b` alike: the names, in a list. */
function commaSeparated({ value }: { value: unknown }): unknown {
  if (typeof value === 'string') return value.split(',');
  if (Array.isArray(value) && value.every((item) => typeof item === 'string'))
    return value.flatMap((item: string) => item.split(','));
  return value;
}

/** Query of GET /executions: a page, a tenant for an admin, and filters. */
export class ExecutionListQueryDto extends ListQueryDto {
  // An array in the query's default style (`status=failed&status=timeout`); one value may
  // also list several, comma-separated (`status=failed,timeout`).
  @ApiPropertyOptional({
    enum: EXECUTION_STATUSES,
    isArray: true,
    description:
      'Only executions in one of these statuses: `status=failed&status=timeout`, or comma-separated, `status=failed,timeout`.',
    example: ['failed', 'timeout'],
  })
  @IsOptional()
  @Transform(commaSeparated)
  @IsIn(EXECUTION_STATUSES, {
    each: true,
    message: `status must be one or more of ${EXECUTION_STATUSES.join(', ')}, comma-separated`,
  })
  status?: ExecutionStatus[];

  /**
   * Only executions submitted with this `processor_id`.
   * @example "processor-123"
   */
  @ApiPropertyOptional()
  @IsOptional()
  @IsProcessorId()
  processor_id?: string;

  /**
   * Only executions queued at or after this moment: an ISO 8601 date-time with a time zone
   * (`Z` or an offset).
   * @example "2026-12-07T08:00:00Z"
   */
  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @IsDateTime()
  since?: string;

  /**
   * Only the items of this batch (POST /executions/batch), in the batch's order.
   * @example "0b5e9c1e-7a2d-4c1f-9e3b-2f6a8d4c1b7e"
   */
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  batch_id?: string;
}

/** What the store is asked to match for this query. */
export function executionFilterOf(query: ExecutionListQueryDto): ExecutionFilter {
  return {
    ...(query.status && { statuses: [...new Set(query.status)] }),
    ...(query.processor_id !== undefined && { processorId: query.processor_id }),
    ...(query.since !== undefined && { since: parseDateTime(query.since) }),
    ...(query.batch_id !== undefined && { batchId: query.batch_id }),
  };
}
