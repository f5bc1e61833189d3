import {
  FiguresRequest,
  HarnessFigure,
  HarnessOutputFiles,
  MAX_OMITTED_LISTED,
  MAX_REJECTION_REASONS,
  OutputFilesRequest,
} from './harness/harness-protocol';
import { pngDimensions } from './png-dimensions';

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

/** A matplotlib figure the code showed or left open (PROTOCOL.md, "Figures"). */
export interface CapturedFigure {
  /** In the order the harness captured them, from 0. */
  readonly index: number;
  readonly title: string | null;
  /** The image, with its size in pixels as its own header says; null when not rendered. */
  readonly png: { readonly data: Buffer; readonly width: number; readonly height: number } | null;
  /** Why there is no image: the harness's reason, or the runner's (not received, not a PNG). */
  readonly error: string | null;
}

/** The figures of a run, and how many were neither rendered nor described (over the budget). */
export interface CapturedFigures {
  readonly figures: readonly CapturedFigure[];
  readonly omittedCount: number;
}

interface IncomingFile {
  /** An output file's path, or `figure <index>`. */
  readonly path: string;
  /** Set for a figure. */
  readonly figureIndex?: number;
  readonly size: number;
  /** False for a file over the budget: its bytes are read past, not kept. */
  readonly kept: boolean;
  readonly chunks: Buffer[];
  received: number;
}

/**
 * Puts the harness's file (or figure) and file_data frames back together into whole
 * files, keeping no more than the job asked for: the harness applies the budgets, and
 * they are applied here again, so that a harness that sends more costs no memory (what
 * is over is omitted). A data frame without a file before it, more bytes than announced,
 * or fewer by the time the next file or the exit frame comes, is a rejected frame, and
 * its file is dropped.
 */
export class OutputFileAssembler {
  private readonly files: OutputFile[] = [];
  private readonly overBudget: OmittedOutputFile[] = [];
  private keptBytes = 0;
  private readonly figurePngs = new Map<number, Buffer>();
  private figureBytes = 0;
  private incoming: IncomingFile | null = null;
  private ended = false;
  private rejections = 0;
  private readonly reasons: string[] = [];

  /**
   * `request`: the job's output_files; `figuresRequest`: its figures. Null when it asked
   * for none.
   */
  constructor(
    private readonly request: OutputFilesRequest | null,
    private readonly figuresRequest: FiguresRequest | null = null,
  ) {}

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

  /** A figure frame: `size` bytes of the figure's PNG follow in file_data frames. */
  figureStarts(index: number, size: number): void {
    this.dropIncomplete();
    const budget = this.figuresRequest;
    if (this.ended || budget === null) {
      this.reject(this.ended ? 'a figure after the exit frame' : 'figures the job did not ask for');
      return;
    }
    if (this.figurePngs.has(index)) {
      this.reject(`figure ${index} sent twice`);
      return;
    }
    const kept =
      this.figurePngs.size < budget.max_count && size <= budget.max_bytes - this.figureBytes;
    this.incoming = {
      path: `figure ${index}`,
      figureIndex: index,
      size,
      kept,
      chunks: [],
      received: 0,
    };
    if (size === 0) this.complete(this.incoming);
  }

  /** A file_data frame: the next bytes of the current file or figure, in base64. */
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

  /**
   * The figures the result describes (`described`, null when it has none), each with the
   * PNG that came for it; null when the job asked for none or the result has none. A
   * figure described without an error whose PNG did not come, or is not a PNG, says so;
   * a PNG no description names is dropped.
   */
  figures(
    described: readonly HarnessFigure[] | null,
    omittedCount: number,
  ): CapturedFigures | null {
    if (this.figuresRequest === null || described === null) return null;
    const figures = described.map(({ index, title, error }): CapturedFigure => {
      if (error !== null) return { index, title, png: null, error };
      const data = this.figurePngs.get(index);
      const dimensions = data && pngDimensions(data);
      if (!data) return { index, title, png: null, error: 'its image did not arrive' };
      if (!dimensions) return { index, title, png: null, error: 'its image is not a PNG' };
      return { index, title, png: { data, ...dimensions }, error: null };
    });
    return { figures, omittedCount };
  }

  private complete(file: IncomingFile): void {
    this.incoming = null;
    if (!file.kept) return;
    const data = Buffer.concat(file.chunks, file.size);
    if (file.figureIndex !== undefined) {
      this.figurePngs.set(file.figureIndex, data);
      this.figureBytes += file.size;
      return;
    }
    this.files.push({ path: file.path, data });
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
