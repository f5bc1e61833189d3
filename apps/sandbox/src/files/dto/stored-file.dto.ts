import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { StoredFile } from '@brain-net/store';

/** An upload kept for reuse: what `files[].file_id` of a request names. */
export class StoredFileDto {
  /** @example "file_3q2m5kz7yb4r1x8c0v6n9t2a" */
  file_id!: string;
  /** The name it was uploaded under. @example "sales.csv" */
  name!: string;
  /** @example 10485760 */
  @ApiProperty({ type: 'integer' })
  size!: number;
  /** Hex SHA-256 of its bytes, computed as it arrived. */
  sha256!: string;
  /** @example "text/csv" */
  media_type!: string;
  @ApiProperty({ type: 'string', format: 'date-time' })
  created_at!: string;
  /** When it is deleted (FILE_RETENTION_HOURS after the upload). */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  expires_at!: string | null;
}

export class StoredFileListDto {
  items!: StoredFileDto[];
  /** Pass as `after` for the next page; null on the last one. */
  @ApiProperty({ type: 'string', nullable: true })
  next_after!: string | null;
}

/** Query of GET /files. */
export class StoredFileListQueryDto {
  /** Uploads per page (1..100). */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  /** The `next_after` of the page before. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;
}

/** Query of POST /files with a raw body. */
export class UploadQueryDto {
  /** The file's name (a multipart upload carries its own). @example "sales.csv" */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  name?: string;
}

export function toStoredFileDto(file: StoredFile): StoredFileDto {
  return {
    file_id: file.id,
    name: file.name,
    size: file.size,
    sha256: file.sha256,
    media_type: file.mediaType,
    created_at: file.createdAt.toISOString(),
    expires_at: file.expiresAt?.toISOString() ?? null,
  };
}
