import { randomUUID } from 'node:crypto';
import type {
  ContainerLimits,
  HarnessException,
  HarnessProfile,
  HarnessVariable,
} from '@brain-net/runner';

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'completed',
  'failed',
  'timeout',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export function isFinished(status: ExecutionStatus): boolean {
  switch (status) {
    case 'queued':
    case 'running':
      return false;
    case 'completed':
    case 'failed':
    case 'timeout':
    case 'cancelled':
      return true;
  }
}

export interface ExecutionTimings {
  /** From acceptance to the moment a slot was free. */
  readonly queuedMs: number;
  /** Create, attach and start of the container. */
  readonly containerStartMs: number;
  /** Container start to exit. */
  readonly runMs: number;
  /** Acceptance to the end. */
  readonly totalMs: number;
}

export interface ResourceUsage {
  readonly peakMemoryBytes: number;
  readonly cpuTimeMs: number;
}

/**
 * What the caller asked to run: the bulky part of a submit, written once when the
 * execution is accepted and read back only when it starts or a debug record shows it.
 * Never kept in memory while the execution waits.
 */
export interface ExecutionInput {
  readonly code: string;
  /** `input_data` as the exact JSON text that arrived (validated, never parsed here). */
  readonly inputJson: string;
  /**
   * What the code reads on stdin; absent when the submit gave none (stdin is then empty).
   * Inputs stored before stdin existed read back without it.
   */
  readonly stdin?: string;
}

/**
 * A file of a submit, held by the FileStore: the execution's own (given inline), or an
 * upload it names, read when the run starts.
 */
export interface ExecutionInputFile {
  /** Where the code finds it, relative to its working directory. */
  readonly path: string;
  readonly fileId: string;
  readonly size: number;
}

/** A file the code wrote under `out/`, kept by the FileStore as the execution's own. */
export interface OutputFile {
  /** Relative to `out/`. */
  readonly path: string;
  readonly size: number;
  readonly mediaType: string;
  readonly sha256: string;
  readonly fileId: string;
}

/** What came back from `out/`: the files kept whole, and those that did not fit. */
export interface OutputFiles {
  readonly files: readonly OutputFile[];
  /** Left out (over MAX_OUTPUT_FILES or MAX_OUTPUT_FILES_MB), the first 100 named. */
  readonly omitted: readonly { readonly path: string; readonly size: number }[];
  readonly omittedCount: number;
}

/** A matplotlib figure the code showed or left open; its PNG kept by the FileStore. */
export interface ExecutionFigure {
  /** In the order the harness captured them, from 0. */
  readonly index: number;
  readonly title: string | null;
  /** Null when it was not rendered, or could not be kept (see `error`). */
  readonly image: {
    readonly width: number;
    readonly height: number;
    readonly size: number;
    readonly sha256: string;
    readonly fileId: string;
  } | null;
  readonly error: string | null;
}

/** The figures of a run, and how many were left out (over MAX_FIGURES or MAX_FIGURES_MB). */
export interface ExecutionFigures {
  readonly figures: readonly ExecutionFigure[];
  readonly omittedCount: number;
}

/**
 * How the container was set up beyond `limits`, as the service applied it to this run.
 * Fixed when the execution is accepted, like its limits: a later change of the
 * configuration is not what this run had.
 */
export interface RunSettings {
  /** Cap on each of stdout and stderr, in bytes (MAX_OUTPUT_BYTES). */
  readonly maxOutputBytes: number;
  /** The container's network mode (`HostConfig.NetworkMode`): `none`, loopback only. */
  readonly network: string;
  /** Whether the container's root file system was mounted read-only. */
  readonly readOnlyRoot: boolean;
}

/**
 * For a run that failed with ModuleNotFoundError: the runtimes (SANDBOX_RUNTIMES) whose
 * images have that top-level module, as the worker found them when the run ended.
 */
export interface ModuleHint {
  /** The top-level module: `sklearn` for "No module named 'sklearn.linear_model'". */
  readonly module: string;
  /** Runtimes that have it, in configuration order; empty: none does. */
  readonly runtimes: readonly string[];
  /** Runtimes whose images could not be read (missing, engine away): they may have it. */
  readonly unchecked: readonly string[];
}

/** A submit's Idempotency-Key, and a fingerprint of what that submit asked for. */
export interface IdempotentRequest {
  readonly key: string;
  readonly fingerprint: string;
}

/** The columns a listing shows: read without touching any bulky field. */
export interface ExecutionSummary {
  readonly id: string;
  /** Whose it is: only this tenant (and admins) can see it. */
  readonly tenant: string;
  /** The API key's name or the token's subject that submitted it. */
  readonly createdBy: string;
  /** The request that submitted it, to tie its log lines to the caller's. */
  readonly requestId: string;
  readonly processorId: string | null;
  readonly queuedAt: Date;
  status: ExecutionStatus;
  startedAt: Date | null;
  endedAt: Date | null;
  exitCode: number | null;
  error: string | null;
  /** The batch it was submitted in (POST /executions/batch), and its place there from 0. */
  readonly batchId: string | null;
  readonly batchIndex: number | null;
}

/**
 * Everything known about one execution but its input. The store holds the one true
 * copy; output, exceptions and variables are each bounded by the harness and the runner.
 */
export interface ExecutionRecord extends ExecutionSummary {
  readonly debugMode: boolean;
  readonly timeoutS: number;
  readonly limits: ContainerLimits;
  /**
   * Absent on records written before run settings were kept (on SQLite: before migration
   * 6): unknown for those, as today's configuration need not be what they ran with.
   */
  readonly runSettings?: RunSettings;
  /** Files put in the code's working directory before it started, in order. */
  readonly inputFiles: readonly ExecutionInputFile[];
  stdout: string;
  stderr: string;
  truncated: { stdout: boolean; stderr: boolean };
  oomKilled: boolean;
  exceptions: HarnessException[];
  variablesAfter: Record<string, HarnessVariable> | null;
  timings: ExecutionTimings | null;
  /** Time in the user's code alone, as the harness measured it. */
  codeMs: number | null;
  usage: ResourceUsage | null;
  imageId: string | null;
  /**
   * The runtime (SANDBOX_RUNTIMES) it runs in: the request's `runtime`, or the default of
   * the instance that admitted it. Null on records from before runtimes existed: they ran
   * on SANDBOX_IMAGE, the default runtime's image.
   */
  readonly runtime: string | null;
  /** Set when the run failed with ModuleNotFoundError: which runtimes have the module. */
  moduleHint: ModuleHint | null;
  /**
   * True when its batch runs in one container (`shared_container`): it is queued, run
   * and cancelled with the batch's other items.
   */
  readonly sharedContainer: boolean;
  /** The files the code left under `out/`; null when it ran without (or before files existed). */
  outputFiles: OutputFiles | null;
  /** Its figures; null when the code drew none (never imported matplotlib.pyplot). */
  figures: ExecutionFigures | null;
  /** The submit asked for `profile`. */
  readonly profileRequested: boolean;
  /** Where the time and memory went, when profileRequested and the harness reported. */
  profile: HarnessProfile | null;
  /** Where the finished result is POSTed (the request's `callback_url`); null: nowhere. */
  readonly callbackUrl: string | null;
  /**
   * True once the store budget (STORE_MAX_MB) dropped this record's bulky fields: its
   * output, exceptions, variables and input are gone, its status and times remain.
   */
  pruned: boolean;
}

/** The fields a record stored before they existed lacks: its files, callback, shared batch. */
export type LaterFields =
  | 'inputFiles'
  | 'outputFiles'
  | 'callbackUrl'
  | 'sharedContainer'
  | 'figures'
  | 'profileRequested'
  | 'profile'
  | 'runtime'
  | 'moduleHint';

/** A stored part of a record, which may lack the LaterFields. */
export type MaybeOlder<T extends Partial<ExecutionRecord>> = Omit<T, LaterFields> &
  Partial<Pick<T, Extract<keyof T, LaterFields>>>;

/** What the LaterFields are for a record stored before they existed: none of them. */
export const LATER_FIELD_DEFAULTS = {
  inputFiles: [],
  outputFiles: null,
  callbackUrl: null,
  sharedContainer: false,
  figures: null,
  profileRequested: false,
  profile: null,
  runtime: null,
  moduleHint: null,
} as const satisfies Pick<ExecutionRecord, LaterFields>;

/** What a newly accepted execution is made of: who asked, for what, and its settings. */
export interface NewExecution {
  /** A fresh UUID unless given. */
  readonly id?: string;
  readonly tenant: string;
  readonly createdBy: string;
  readonly requestId: string;
  readonly processorId: string | null;
  /** Now unless given. */
  readonly queuedAt?: Date;
  readonly debugMode: boolean;
  readonly timeoutS: number;
  readonly limits: ContainerLimits;
  readonly runSettings: RunSettings;
  /** None unless given. */
  readonly inputFiles?: readonly ExecutionInputFile[];
  /** None unless given. */
  readonly callbackUrl?: string | null;
  /** Its batch and place there, and whether the batch runs in one container; none unless given. */
  readonly batch?: { readonly id: string; readonly index: number; readonly shared: boolean };
  /** Profile the run; no unless given. */
  readonly profileRequested?: boolean;
  /** The runtime it runs in; null (the default runtime) unless given. */
  readonly runtime?: string | null;
}

/** The record of a newly accepted execution: queued, with nothing run or recorded yet. */
export function newExecutionRecord({
  id = randomUUID(),
  queuedAt = new Date(),
  inputFiles = [],
  callbackUrl = null,
  batch,
  profileRequested = false,
  runtime = null,
  ...execution
}: NewExecution): ExecutionRecord {
  return {
    ...execution,
    id,
    queuedAt,
    inputFiles,
    callbackUrl,
    profileRequested,
    runtime,
    batchId: batch?.id ?? null,
    batchIndex: batch?.index ?? null,
    sharedContainer: batch?.shared ?? false,
    status: 'queued',
    startedAt: null,
    endedAt: null,
    stdout: '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    exitCode: null,
    error: null,
    oomKilled: false,
    exceptions: [],
    variablesAfter: null,
    timings: null,
    codeMs: null,
    usage: null,
    imageId: null,
    outputFiles: null,
    figures: null,
    profile: null,
    moduleHint: null,
    pruned: false,
  };
}
