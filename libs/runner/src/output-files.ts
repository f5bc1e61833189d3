import {
  HarnessOutputFiles,
  MAX_OMITTED_LISTED,
  MAX_REJECTION_REASONS,
  OutputFilesRequest,
} from './harness/harness-protocol';

/** A file the job's code left under `out/`, sent back whole. */
export interface OutputFile {
  /** Relative to `out/`, POSIX. */
  readonly path: string;
  readonly data: Buffer;
}

/** A file under `out/` that was not sent back: over the budget, or unreadable. */
export interface OmittedOutputFile {
  readonly path: string;
  readonly size: number;
}

/** What came back of the files the job's code left under `out/` (PROTOCOL.md, "Output files"). */
export interface OutputFiles {
  /** In path order. */
  readonly files: readonly OutputFile[];
  /** The first MAX_OMITTED_LISTED files left out. */
  readonly omitted: readonly OmittedOutputFile[];
  /** All the files left out, listed or not. */
  readonly omittedCount: number;
}

interface IncomingFile {
  readonly path: string;
  readonly size: number;
  /** False for a file over the budget: its bytes are read past, not kept. */
  readonly kept: boolean;
  readonly chunks: Buffer[];
  received: number;
}

/**
 * Puts the harness's file and file_data frames back together into whole files, keeping
 * no more than the job asked for: the harness applies the budget, and it is applied here
 * again, so that a harness that sends more costs no memory (what is over is omitted). A
 * data frame without a file before it, more bytes than announced, or fewer by the time
 * the next file or the exit frame comes, is a rejected frame, and its file is dropped.
 */
export class OutputFileAssembler {
  private readonly files: OutputFile[] = [];
  private readonly overBudget: OmittedOutputFile[] = [];
  private keptBytes = 0;
  private incoming: IncomingFile | null = null;
  private ended = false;
  private rejections = 0;
  private readonly reasons: string[] = [];

  /** `request`: the job's output_files; null when it asked for none. */
  constructor(private readonly request: OutputFilesRequest | null) {}

  /** Frames rejected here: they decoded, but did not add up to files. */
  get rejectedFrames(): number {
    return this.rejections;
  }

  /** Why: the first MAX_REJECTION_REASONS, naming no file (its name is the job's data). */
  get rejectionReasons(): readonly string[] {
    return this.reasons;
  }

  /** A file frame: `size` bytes of the file at `path` follow in file_data frames. */
  fileStarts(path: string, size: number): void {
    this.dropIncomplete();
    if (this.ended || this.request === null) {
      this.reject(this.ended ? 'a file after the exit frame' : 'a file the job did not ask for');
      return;
    }
    const kept =
      this.files.length < this.request.max_count && size <= this.request.max_bytes - this.keptBytes;
    if (!kept) this.overBudget.push({ path, size });
    this.incoming = { path, size, kept, chunks: [], received: 0 };
    if (size === 0) this.complete(this.incoming);
  }

  /** A file_data frame: the next bytes of the current file, in base64. */
  fileData(base64: string): void {
    const file = this.incoming;
    if (file === null) {
      this.reject('file data without a file before it');
      return;
    }
    const bytes = Buffer.from(base64, 'base64');
    file.received += bytes.length;
    if (file.received > file.size) {
      this.incoming = null;
      this.reject(`file data past the ${file.size} bytes announced`);
      return;
    }
    if (file.kept) file.chunks.push(bytes);
    if (file.received === file.size) this.complete(file);
  }

  /** At the exit frame: no more files come; one whose bytes ended short is dropped. */
  end(): void {
    this.dropIncomplete();
    this.ended = true;
  }

  /**
   * The files, with those omitted by the harness (`summary`, from its exit frame) and
   * those over the budget here; null when the job asked for none.
   */
  outputFiles(summary: HarnessOutputFiles | null): OutputFiles | null {
    if (this.request === null) return null;
    const omitted = [...(summary?.omitted ?? []), ...this.overBudget];
    return {
      files: this.files,
      omitted: omitted.slice(0, MAX_OMITTED_LISTED),
      omittedCount: (summary?.omitted_count ?? 0) + this.overBudget.length,
    };
  }

  private complete(file: IncomingFile): void {
    this.incoming = null;
    if (!file.kept) return;
    this.files.push({ path: file.path, data: Buffer.concat(file.chunks, file.size) });
    this.keptBytes += file.size;
  }

  private dropIncomplete(): void {
    const file = this.incoming;
    if (file === null) return;
    this.incoming = null;
    this.reject(`a file ended after ${file.received} of the ${file.size} bytes announced`);
  }

  private reject(reason: string): void {
    this.rejections += 1;
    if (this.reasons.length < MAX_REJECTION_REASONS) this.reasons.push(reason);
  }
}
