import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/**
 * The last page a listing serves: its offset (page × 100 at most) stays a small integer
 * for SQLite and Redis alike, and far beyond any history kept.
 */
export const MAX_PAGE = 1_000_000;

/** Page query of the list endpoints (GET /executions, GET /adjustments). */
export class PageQueryDto {
  /** 1-based page number (1..1000000). */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  page: number = 1;

  /** Items per page (1..100). */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
}

/** Query of a listing: a page, and for an admin, one tenant. */
export class ListQueryDto extends PageQueryDto {
  /**
   * (admin) Only this tenant's records; an admin who names none sees every tenant's.
   * Ignored for other callers: they only ever see their own tenant's.
   */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  tenant?: string;
}
