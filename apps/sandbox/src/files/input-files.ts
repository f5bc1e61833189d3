import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { JobInputFile } from '@brain-net/runner';
import { ExecutionInputFile, FileStore } from '@brain-net/store';
import { AppConfig } from '../config/app-config';
import { DomainError, FieldProblem } from '../errors/domain-error';
import { fromFileStore } from './from-file-store';
import { InputFileDto } from './dto/input-file.dto';
import { inputFilePathClashes, inputFilePathProblem } from './input-file-path';

/**
 * Standard base64, padded (with a length a multiple of 4): Buffer.from would silently
 * skip anything else. A plain character class, not groups of four: a regular expression
 * with a repeated group recurses per group and overflows the stack on megabytes.
 */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64.test(text);
}

/** A request's files, checked: the inline ones decoded, the uploads found. */
export interface CheckedInputFile {
  readonly path: string;
  readonly size: number;
  readonly source:
    | { readonly kind: 'inline'; readonly data: Buffer }
    | { readonly kind: 'upload'; readonly fileId: string };
}

/**
 * The files a request puts in the code's working directory: checked whole before
 * anything is stored (every bad entry named in one 400), then kept for the run. Inline
 * files become the execution's own files, pruned with its record; uploads are read
 * where they are, when the run starts.
 */
@Injectable()
export class InputFiles {
  constructor(
    private readonly config: AppConfig,
    private readonly files: FileStore,
  ) {}

  /** The request's files, or a DomainError saying what is wrong with them. */
  async check(
    entries: readonly InputFileDto[] | undefined,
    tenant: string,
  ): Promise<CheckedInputFile[]> {
    if (!entries || entries.length === 0) return [];
    const { maxInputFiles, maxInputBytes } = this.config.files;
    if (entries.length > maxInputFiles) {
      throw new DomainError(
        'TOO_MANY_FILES',
        `files has ${entries.length} entries; the limit is ${maxInputFiles}.`,
        { fieldProblems: [{ field: 'files', messages: [`at most ${maxInputFiles} entries`] }] },
      );
    }
    refuseProblems('INVALID_FILE', entryProblems(entries));
    const checked = await Promise.all(entries.map((entry) => this.checkedEntry(entry, tenant)));
    refuseProblems(
      'UNKNOWN_FILE',
      checked.flatMap((file, index) =>
        file ? [] : [problem(index, 'file_id', 'is no upload of yours (deleted or expired?)')],
      ),
    );
    const found = checked.filter((file): file is CheckedInputFile => file !== null);
    const total = found.reduce((sum, file) => sum + file.size, 0);
    if (total > maxInputBytes) {
      throw new DomainError(
        'FILES_TOO_LARGE',
        `files hold ${total} bytes together; the limit is ${maxInputBytes} bytes.`,
        { fieldProblems: [{ field: 'files', messages: [`at most ${maxInputBytes} bytes`] }] },
      );
    }
    return found;
  }

  /** Stores the inline files as the execution's own; what its run reads, in order. */
  keep(
    files: readonly CheckedInputFile[],
    tenant: string,
    executionId: string,
  ): Promise<ExecutionInputFile[]> {
    return Promise.all(
      files.map(async ({ path, size, source }) => {
        if (source.kind === 'upload') return { path, size, fileId: source.fileId };
        const stored = await fromFileStore(() =>
          this.files.save({
            tenant,
            name: path,
            mediaType: 'application/octet-stream',
            owner: { kind: 'execution', executionId },
            content: Readable.from([source.data]),
            maxBytes: size,
            expiresAt: null,
          }),
        );
        return { path, size, fileId: stored.id };
      }),
    );
  }

  /**
   * The run's view of an execution's files, each opened as the runner streams it in.
   * Throws InputFileGoneError for an upload deleted (or expired) since the submit.
   */
  async forRun(tenant: string, files: readonly ExecutionInputFile[]): Promise<JobInputFile[]> {
    const stored = await Promise.all(files.map(({ fileId }) => this.files.get(tenant, fileId)));
    const gone = files.filter((_, index) => !stored[index]);
    if (gone.length > 0) throw new InputFileGoneError(gone.map(({ path }) => path));
    return files.map(({ path, size, fileId }) => ({
      path,
      size,
      open: async () => {
        const content = await this.files.open(tenant, fileId);
        if (!content) throw new InputFileGoneError([path]);
        return content;
      },
    }));
  }

  private async checkedEntry(
    entry: InputFileDto,
    tenant: string,
  ): Promise<CheckedInputFile | null> {
    if (entry.file_id !== undefined) {
      const upload = await fromFileStore(() => this.files.get(tenant, entry.file_id ?? ''));
      if (upload?.owner.kind !== 'upload') return null;
      return { path: entry.path, size: upload.size, source: { kind: 'upload', fileId: upload.id } };
    }
    const data = Buffer.from(entry.content ?? '', entry.encoding === 'base64' ? 'base64' : 'utf8');
    return { path: entry.path, size: data.length, source: { kind: 'inline', data } };
  }
}

/** An upload a queued execution named was deleted, or expired, before it started. */
export class InputFileGoneError extends Error {
  constructor(paths: readonly string[]) {
    super(
      `The execution could not start: its file${paths.length > 1 ? 's' : ''} ${paths.join(', ')} ` +
        'no longer exist (the upload was deleted or expired after the submit).',
    );
    this.name = 'InputFileGoneError';
  }
}

/** Every entry's problems that need no store: its path, its source, its encoding. */
function entryProblems(entries: readonly InputFileDto[]): FieldProblem[] {
  const clashes = inputFilePathClashes(entries.map((entry) => entry.path));
  return entries.flatMap((entry, index) => {
    const problems: FieldProblem[] = [];
    const pathProblem = inputFilePathProblem(entry.path) ?? clashes.get(index);
    if (pathProblem) problems.push(problem(index, 'path', pathProblem));
    const inline = entry.content !== undefined;
    if (inline === (entry.file_id !== undefined)) {
      problems.push(problem(index, 'content', 'give exactly one of content and file_id'));
    } else if (!inline && entry.encoding !== undefined) {
      problems.push(problem(index, 'encoding', 'applies to content only'));
    } else if (entry.encoding === 'base64' && !isBase64(entry.content ?? '')) {
      problems.push(problem(index, 'content', 'is not standard, padded base64'));
    }
    return problems;
  });
}

function problem(index: number, field: string, message: string): FieldProblem {
  return { field: `files[${index}].${field}`, messages: [`files[${index}].${field} ${message}`] };
}

function refuseProblems(code: 'INVALID_FILE' | 'UNKNOWN_FILE', problems: FieldProblem[]): void {
  if (problems.length === 0) return;
  throw new DomainError(code, problems.flatMap((p) => p.messages).join('; '), {
    fieldProblems: problems,
  });
}
