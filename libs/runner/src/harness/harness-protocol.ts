/**
 * The JSON-lines protocol spoken by sandbox_harness.py (see PROTOCOL.md): its types,
 * derived from the schemas every frame is checked against, and the decoder that turns
 * the container's stdout bytes into frames.
 */
import { z } from 'zod';

export interface HarnessPayload {
  readonly code: string;
  readonly input_data: unknown;
  readonly debug_mode: boolean;
  readonly max_output_bytes: number;
  readonly time_limit_s: number;
  readonly filename: string;
  /**
   * What the user's code reads on stdin (`input()`, `sys.stdin`, fd 0), then EOF;
   * absent or null: stdin is empty, EOF at once.
   */
  readonly stdin?: string | null;
  /**
   * Files written under the working directory before the code starts. Their bytes follow
   * the payload on stdin, in this order, exactly `size` bytes each. Absent: none.
   */
  readonly files?: readonly HarnessInputFile[];
  /** Send back the files the code leaves under `out/`, within this budget. Absent or null: none. */
  readonly output_files?: OutputFilesRequest | null;
  /**
   * Render the matplotlib figures the code showed or left open, within this budget
   * (PROTOCOL.md, "Figures"). Absent or null: none.
   */
  readonly figures?: FiguresRequest | null;
  /** Profile the code: cProfile, tracemalloc and import times (PROTOCOL.md, "Profile"). Absent: no. */
  readonly profile?: boolean;
}

/** How many figures, of how many pixels each and bytes in all, the harness may send back. */
export interface FiguresRequest {
  readonly max_count: number;
  readonly max_bytes: number;
  /** Width times height of one PNG: a larger figure is rendered at a lower dpi. */
  readonly max_pixels: number;
}

/** An input file as the payload announces it; its bytes follow the payload. */
export interface HarnessInputFile {
  /** Relative POSIX path under the working directory (isPlainRelativePath). */
  readonly path: string;
  readonly size: number;
}

/** How many output files, and how many bytes of them in all, the harness may send back. */
export interface OutputFilesRequest {
  readonly max_count: number;
  readonly max_bytes: number;
}

/**
 * A path that stays where it is put: relative, POSIX, no empty, `.` or `..` part, no NUL.
 * The harness checks input file paths the same way; the runner checks output file paths.
 */
export function isPlainRelativePath(path: string): boolean {
  return (
    !path.includes('\u0000') && path.split('/').every((part) => !['', '.', '..'].includes(part))
  );
}

/** Stdin of the harness: the JSON's length in bytes on a line, then the JSON. */
export function encodePayload(payload: HarnessPayload | string): Buffer {
  const json = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
  return Buffer.concat([Buffer.from(`${json.length}\n`, 'ascii'), json]);
}

/** The longest exit frame line the harness writes, newline included (as in sandbox_harness.py). */
export const MAX_EXIT_FRAME_BYTES = 2 * 1024 * 1024;

/**
 * The longest line the harness can ever write, with margin: the exit frame is the longest
 * (an output frame is at most ~400 KiB, a file frame ~25 KiB, a file_data frame ~64 KiB).
 * The decoder's line limit.
 */
export const MAX_FRAME_BYTES = MAX_EXIT_FRAME_BYTES + 1024 * 1024;

/** Raw bytes a file_data frame carries at most (FILE_CHUNK_BYTES in sandbox_harness.py). */
export const MAX_FILE_CHUNK_BYTES = 48 * 1024;

/** Omitted output files an exit frame lists at most; the others are only counted. */
export const MAX_OMITTED_LISTED = 100;

/** Figures a result describes at most (MAX_FIGURES in sandbox_harness.py); the payload's max_count is within it. */
export const MAX_FIGURES = 50;

/** Functions, allocation sites and imports a profile lists at most (sandbox_harness.py). */
export const MAX_PROFILED_FUNCTIONS = 30;
export const MAX_ALLOCATION_SITES = 15;
export const MAX_PROFILED_IMPORTS = 30;

/** Rows of a DataFrame, values of a Series or array, and columns a preview shows at most. */
export const MAX_PREVIEW_ROWS = 20;
export const MAX_PREVIEW_COLUMNS = 50;
export const MAX_PREVIEW_VALUES = 50;

/** How many rejection reasons a decoder keeps; later rejections are only counted. */
export const MAX_REJECTION_REASONS = 5;

/** How much of a schema issue's path a reason shows: a forged `cause` chain can be deep. */
const MAX_ISSUE_PATH_CHARS = 200;

const count = z.int().nonnegative();
const lineNumber = z.int().nullable();

const outputStreamSchema = z.enum(['stdout', 'stderr']);

const harnessFrameSchema = z.object({
  file: z.string(),
  line: lineNumber,
  function: z.string(),
  source: z.string().nullable(),
});

const harnessExceptionSchema = z.object({
  type: z.string(),
  message: z.string(),
  line: lineNumber,
  frames: z.array(harnessFrameSchema),
  /** Frames left out between the outermost and the innermost ones. */
  frames_omitted: count,
  get cause() {
    return harnessExceptionSchema.nullable();
  },
  cause_relation: z.enum(['cause', 'context']).nullable(),
});

/** A cell or value of a preview: JSON-safe (NaN and NaT null, timestamps ISO strings, others their str). */
const previewValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const dataFramePreviewSchema = z.object({
  kind: z.literal('dataframe'),
  /** [rows, columns] of the whole frame. */
  shape: z.tuple([count, count]),
  /** The first columns: name (its str), dtype, and null count (null when there was no time to count). */
  columns: z
    .array(z.object({ name: z.string(), dtype: z.string(), nulls: count.nullable() }))
    .max(MAX_PREVIEW_COLUMNS),
  columns_omitted: count,
  /** The index labels of the rows shown. */
  index: z.array(previewValue).max(MAX_PREVIEW_ROWS),
  /** The first rows, each a list of the shown columns' cells. */
  rows: z.array(z.array(previewValue).max(MAX_PREVIEW_COLUMNS)).max(MAX_PREVIEW_ROWS),
  rows_omitted: count,
});

const seriesPreviewSchema = z.object({
  kind: z.literal('series'),
  shape: z.tuple([count]),
  name: z.string().nullable(),
  dtype: z.string(),
  nulls: count.nullable(),
  index: z.array(previewValue).max(MAX_PREVIEW_VALUES),
  values: z.array(previewValue).max(MAX_PREVIEW_VALUES),
  values_omitted: count,
});

const arrayPreviewSchema = z.object({
  kind: z.literal('ndarray'),
  shape: z.array(count).max(32),
  dtype: z.string(),
  /** The first values in C order, flattened. */
  values: z.array(previewValue).max(MAX_PREVIEW_VALUES),
  values_omitted: count,
});

const variablePreviewSchema = z.discriminatedUnion('kind', [
  dataFramePreviewSchema,
  seriesPreviewSchema,
  arrayPreviewSchema,
]);

const harnessVariableSchema = z
  .object({
    type: z.string(),
    value: z.unknown().optional(),
    repr: z.string().optional(),
    truncated: z.boolean(),
    /** A pandas DataFrame or Series, or a numpy array: its shape, types and first values. */
    preview: variablePreviewSchema.optional(),
  })
  .refine((variable) => 'value' in variable !== 'repr' in variable, {
    message: 'needs one of value and repr',
  });

/** A figure the code showed or left open, in the order they were captured. */
const harnessFigureSchema = z.object({
  index: count,
  /** Its suptitle, else its first axes' title; null when it has none. */
  title: z.string().nullable(),
  /** Why it was not rendered (null: its PNG follows as a figure frame). */
  error: z.string().nullable(),
});

const profiledFunctionSchema = z.object({
  function: z.string(),
  file: z.string(),
  line: lineNumber,
  calls: count,
  /** Time in the function itself, and with what it called. */
  self_ms: z.number().nonnegative(),
  cumulative_ms: z.number().nonnegative(),
  /** Defined in the user's file (listed first). */
  user_code: z.boolean(),
});

const allocationSiteSchema = z.object({
  file: z.string(),
  line: lineNumber,
  /** Bytes held by blocks allocated at this line, in the snapshot nearest the peak. */
  bytes: count,
  blocks: count,
  source: z.string().nullable(),
});

const harnessProfileSchema = z.object({
  functions: z.array(profiledFunctionSchema).max(MAX_PROFILED_FUNCTIONS),
  functions_omitted: count,
  allocations: z.array(allocationSiteSchema).max(MAX_ALLOCATION_SITES),
  /** Peak of the memory tracemalloc traced while the code ran. */
  peak_traced_bytes: count,
  /** Each module the code imported at top level (not already loaded), with its wall time. */
  imports: z
    .array(z.object({ module: z.string(), ms: z.number().nonnegative() }))
    .max(MAX_PROFILED_IMPORTS),
  imports_omitted: count,
  /** What kept part of the profile from being taken (null: all of it is there). */
  error: z.string().nullable(),
});

const harnessResultSchema = z.object({
  duration_ms: z.number(),
  exceptions: z.array(harnessExceptionSchema),
  variables_after: z.record(z.string(), harnessVariableSchema).nullable(),
  /** Variables left out: over the count, a name taken once cut, or no room left in the frame. */
  variables_omitted: count,
  /** Null when the payload asked for none, or no figure was captured. */
  figures: z.array(harnessFigureSchema).max(MAX_FIGURES).nullable(),
  /** Figures past the payload's max_count: neither rendered nor described. */
  figures_omitted: count,
  /** Null unless the payload asked for a profile. */
  profile: harnessProfileSchema.nullable(),
});

const omittedOutputFileSchema = z.object({ path: z.string(), size: count });

const harnessOutputFilesSchema = z.object({
  /** Files sent whole, as file and file_data frames, before the exit frame. */
  sent: count,
  /** The first files left out, in path order: over the budget, or unreadable. */
  omitted: z.array(omittedOutputFileSchema).max(MAX_OMITTED_LISTED),
  omitted_count: count,
});

const harnessExitSchema = z.object({
  exit_code: z.int().nullable(),
  signal: z.int().nullable(),
  harness_timeout: z.boolean(),
  max_rss_kb: count,
  cpu_time_ms: z.number().nonnegative(),
  stdout_bytes: count,
  stderr_bytes: count,
  result: harnessResultSchema.nullable(),
  /** Why the result that arrived was thrown away (null when there was none, or it was fine). */
  result_error: z.string().nullable(),
  /** What became of the files under out/; null when the job asked for none. */
  output_files: harnessOutputFilesSchema.nullable(),
  /**
   * A job's waiting worker (PROTOCOL.md): how long it took to be ready, or (`ready` false)
   * how long it had been importing when the job came and it was dismissed. Absent in batches.
   */
  preload: z.object({ ready: z.boolean(), ms: z.number().nonnegative() }).nullable().optional(),
});

const harnessMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: outputStreamSchema, data: z.string() }),
  z.object({ type: z.literal('truncated'), stream: outputStreamSchema }),
  harnessExitSchema.extend({ type: z.literal('exit') }),
  z.object({ type: z.literal('harness_error'), message: z.string() }),
  z.object({
    type: z.literal('file'),
    path: z.string().refine(isPlainRelativePath, 'not a plain relative path'),
    size: count,
  }),
  /** A figure's PNG: `size` bytes follow in file_data frames (PROTOCOL.md, "Figures"). */
  z.object({ type: z.literal('figure'), index: count, size: count }),
  // Base64 of at most MAX_FILE_CHUNK_BYTES: 4 characters for every 3 bytes.
  z.object({ type: z.literal('file_data'), data: z.base64().max((MAX_FILE_CHUNK_BYTES / 3) * 4) }),
]);

/** An item's index in its batch: every frame of an item carries it (PROTOCOL.md, "Batches"). */
const itemIndex = count;

const batchMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: outputStreamSchema, data: z.string(), item: itemIndex }),
  z.object({ type: z.literal('truncated'), stream: outputStreamSchema, item: itemIndex }),
  /** The item's worker was forked: its clock started. */
  z.object({ type: z.literal('item_start'), item: itemIndex }),
  harnessExitSchema.extend({ type: z.literal('item_exit'), item: itemIndex }),
  /** With `item`: that item could not be run; without: the batch's own failure. */
  z.object({ type: z.literal('harness_error'), message: z.string(), item: itemIndex.optional() }),
  z.object({
    type: z.literal('file'),
    path: z.string().refine(isPlainRelativePath, 'not a plain relative path'),
    size: count,
    item: itemIndex,
  }),
  z.object({ type: z.literal('figure'), index: count, size: count, item: itemIndex }),
  z.object({
    type: z.literal('file_data'),
    data: z.base64().max((MAX_FILE_CHUNK_BYTES / 3) * 4),
    item: itemIndex,
  }),
  /** The batch's last frame: `items` items ended (item_exit or their harness_error). */
  z.object({ type: z.literal('batch_exit'), items: count }),
]);

export type OutputStream = z.infer<typeof outputStreamSchema>;
export type HarnessFrame = z.infer<typeof harnessFrameSchema>;
export type HarnessException = z.infer<typeof harnessExceptionSchema>;
export type HarnessVariable = z.infer<typeof harnessVariableSchema>;
export type VariablePreview = z.infer<typeof variablePreviewSchema>;
export type HarnessFigure = z.infer<typeof harnessFigureSchema>;
export type HarnessProfile = z.infer<typeof harnessProfileSchema>;
export type HarnessResult = z.infer<typeof harnessResultSchema>;
export type HarnessOutputFiles = z.infer<typeof harnessOutputFilesSchema>;
export type HarnessExit = z.infer<typeof harnessExitSchema>;
export type HarnessMessage = z.infer<typeof harnessMessageSchema>;
/** A frame of a batch (PROTOCOL.md, "Batches"). */
export type BatchMessage = z.infer<typeof batchMessageSchema>;

/** The frames of one protocol: how each line is checked, and what a malformed final frame becomes. */
interface FrameProtocol<M> {
  readonly types: ReadonlySet<string>;
  readonly schema: z.ZodType<M>;
  /**
   * What a frame of this type that fails its schema becomes: a harness_error for the
   * frames that end a run (the harness was ending it), null (rejected) for the others.
   */
  malformed(type: string, value: object, problem: string): M | null;
}

const JOB_PROTOCOL: FrameProtocol<HarnessMessage> = {
  types: new Set<HarnessMessage['type']>([
    'stdout',
    'stderr',
    'truncated',
    'exit',
    'harness_error',
    'file',
    'figure',
    'file_data',
  ]),
  schema: harnessMessageSchema,
  malformed: (type, _value, problem) =>
    type === 'exit' || type === 'harness_error'
      ? { type: 'harness_error', message: problem }
      : null,
};

const BATCH_PROTOCOL: FrameProtocol<BatchMessage> = {
  types: new Set<BatchMessage['type']>([
    'stdout',
    'stderr',
    'truncated',
    'item_start',
    'item_exit',
    'harness_error',
    'file',
    'figure',
    'file_data',
    'batch_exit',
  ]),
  schema: batchMessageSchema,
  malformed: (type, value, problem) => {
    if (type === 'batch_exit') return { type: 'harness_error', message: problem };
    if (type !== 'item_exit' && type !== 'harness_error') return null;
    // The item it ended, when that much of it can be read; else the batch's own failure.
    const item = 'item' in value ? itemIndex.safeParse(value.item) : null;
    return item?.success
      ? { type: 'harness_error', message: problem, item: item.data }
      : { type: 'harness_error', message: problem };
  },
};

/** Path segments a reason may show as they are; any other key (a variable name) is user data. */
const PROTOCOL_FIELDS: ReadonlySet<string> = new Set(
  [
    harnessFrameSchema,
    harnessExceptionSchema,
    harnessVariableSchema,
    dataFramePreviewSchema,
    seriesPreviewSchema,
    arrayPreviewSchema,
    harnessResultSchema,
    harnessFigureSchema,
    profiledFunctionSchema,
    allocationSiteSchema,
    harnessProfileSchema,
    omittedOutputFileSchema,
    harnessOutputFilesSchema,
    ...harnessMessageSchema.options,
    ...batchMessageSchema.options,
  ].flatMap((schema) => Object.keys(schema.shape)),
);

/**
 * Splits the harness's stdout into newline-terminated JSON frames and checks each
 * against its schema. Bytes are kept until a newline arrives, so a frame split across
 * Docker chunks decodes whole. Only the harness supervisor writes this stream; a line
 * that is not a valid frame means the harness was bypassed or broken and is counted,
 * never trusted; what a malformed frame that ends a run becomes is the protocol's call.
 */
export class FrameDecoder<M> {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True from the moment the current line outgrew maxLineBytes until its newline. */
  private skippingLine = false;
  /** 1-based number of the line being read, for rejection reasons. */
  private lineNumber = 1;
  private invalidLines = 0;
  private readonly reasons: string[] = [];

  constructor(
    private readonly maxLineBytes: number,
    private readonly protocol: FrameProtocol<M>,
  ) {}

  /** Lines that were not valid frames (or were too long to be one). */
  get rejectedLines(): number {
    return this.invalidLines;
  }

  /** Why lines were rejected: the first MAX_REJECTION_REASONS, each naming its line. */
  get rejectionReasons(): readonly string[] {
    return this.reasons;
  }

  push(chunk: Buffer): M[] {
    const messages: M[] = [];
    let start = 0;
    let newline = chunk.indexOf(0x0a, start);
    while (newline !== -1) {
      this.append(chunk.subarray(start, newline));
      const message = this.endLine();
      if (message) messages.push(message);
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    this.append(chunk.subarray(start));
    return messages;
  }

  private append(part: Buffer): void {
    if (this.skippingLine || part.length === 0) return;
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxLineBytes) {
      // A runaway line cannot be a frame: drop it rather than buffer without bound.
      this.reject(`longer than ${this.maxLineBytes} bytes`);
      this.pending = [];
      this.pendingBytes = 0;
      this.skippingLine = true;
    } else {
      this.pending.push(Buffer.from(part));
    }
  }

  private endLine(): M | null {
    const line = Buffer.concat(this.pending).toString('utf8');
    const skipped = this.skippingLine;
    this.pending = [];
    this.pendingBytes = 0;
    this.skippingLine = false;
    const message = skipped || line.length === 0 ? null : this.decode(line);
    this.lineNumber += 1;
    return message;
  }

  private decode(line: string): M | null {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return this.reject('not JSON');
    }
    const type = frameTypeOf(parsed, this.protocol.types);
    if (type === null || typeof parsed !== 'object' || parsed === null) {
      return this.reject('not a frame: no known type');
    }
    const checked = checkFrame(parsed, this.protocol.schema);
    if (typeof checked !== 'string') return checked.frame;
    const problem = `malformed ${type} frame: ${checked}`;
    // A frame that ends a run: report that the harness failed, and say what was wrong.
    return this.protocol.malformed(type, parsed, problem) ?? this.reject(problem);
  }

  private reject(reason: string): null {
    this.invalidLines += 1;
    if (this.reasons.length < MAX_REJECTION_REASONS) {
      this.reasons.push(`line ${this.lineNumber}: ${reason}`);
    }
    return null;
  }
}

/**
 * The single job's frames (PROTOCOL.md, "Out of the container"). A frame that is not
 * valid is counted, never trusted; a malformed exit or harness_error frame becomes a
 * harness_error message instead, so the run is reported as a harness failure.
 */
export class HarnessFrameDecoder extends FrameDecoder<HarnessMessage> {
  constructor(maxLineBytes: number) {
    super(maxLineBytes, JOB_PROTOCOL);
  }
}

/**
 * A batch's frames (PROTOCOL.md, "Batches"): each of an item's frames carries its index.
 * A malformed item_exit or harness_error frame becomes that item's harness_error (the
 * batch's, when not even its index can be read); a malformed batch_exit, the batch's.
 */
export class BatchFrameDecoder extends FrameDecoder<BatchMessage> {
  constructor(maxLineBytes: number) {
    super(maxLineBytes, BATCH_PROTOCOL);
  }
}

function frameTypeOf(value: unknown, types: ReadonlySet<string>): string | null {
  if (typeof value !== 'object' || value === null || !('type' in value)) return null;
  const { type } = value;
  return typeof type === 'string' && types.has(type) ? type : null;
}

/** The frame, or what is wrong with it (in the schema's words, never the frame's data). */
function checkFrame<M>(value: unknown, schema: z.ZodType<M>): { frame: M } | string {
  try {
    const checked = schema.safeParse(value);
    return checked.success ? { frame: checked.data } : describeIssue(checked.error.issues[0]);
  } catch (error) {
    // The schema recurses into `cause`: a forged chain deep enough overflows the stack.
    if (error instanceof RangeError) return 'nested too deeply';
    throw error;
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((key) => (typeof key === 'number' || PROTOCOL_FIELDS.has(String(key)) ? String(key) : '*'))
    .join('.');
  const shownPath =
    path.length > MAX_ISSUE_PATH_CHARS ? `${path.slice(0, MAX_ISSUE_PATH_CHARS)}…` : path;
  return `${shownPath || '(frame)'}: ${issue.message}`;
}
