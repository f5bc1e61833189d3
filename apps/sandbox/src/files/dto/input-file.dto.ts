import { IsIn, IsOptional, IsString } from 'class-validator';

export const INPUT_FILE_ENCODINGS = ['utf8', 'base64'] as const;
export type InputFileEncoding = (typeof INPUT_FILE_ENCODINGS)[number];

/**
 * One file put in the code's working directory before it starts: inline (`content`) or
 * an upload of this tenant (`file_id`), exactly one of the two.
 */
export class InputFileDto {
  /**
   * Where the code finds it, relative to its working directory (`open("data/input.csv")`):
   * plain names separated by `/`, no `.`, `..`, absolute path or device name, not `main.py`.
   * @example "data/input.csv"
   */
  @IsString()
  path!: string;

  /**
   * The file's content, as text (`encoding` utf8, the default) or base64.
   * @example "x,y\n1,2\n"
   */
  @IsOptional()
  @IsString()
  content?: string;

  /** How `content` is written: `utf8` (default) or `base64` for binary files. */
  @IsOptional()
  @IsIn(INPUT_FILE_ENCODINGS)
  encoding?: InputFileEncoding;

  /**
   * An upload of this tenant (`POST /files`), instead of `content`.
   * @example "file_3q2m5kz7yb4r1x8c0v6n9t2a"
   */
  @IsOptional()
  @IsString()
  file_id?: string;
}
