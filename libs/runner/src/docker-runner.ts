import { ContainerLimits } from './container-limits';
import { HarnessExit, HarnessPayload, OutputStream } from './harness/harness-protocol';
import type { ImageInventory } from './image-inventory';
import type { JobInputFile } from './input-files';
import type { CapturedFigures, OutputFiles } from './output-files';

/** One job for one fresh container. */
export interface SandboxJob {
  /** Our id for the job; put on the container as a label. */
  readonly jobId: string;
  readonly image: string;
  /** The payload's `files` are made from `files` below: the two cannot disagree. */
  readonly payload: Omit<HarnessPayload, 'input_data' | 'files'>;
  /** `input_data` as JSON text, forwarded to the harness without being parsed here. */
  readonly inputJson: string;
  /** Put in the working directory before the code starts, in this order. Absent: none. */
  readonly files?: readonly JobInputFile[];
  readonly limits: ContainerLimits;
  /**
   * Wall-clock budget from container start; the container is killed at this deadline
   * unless the harness has already sent its exit frame. The harness enforces the job's
   * own time limit inside the container; this one is the backstop.
   */
  readonly timeoutMs: number;
}

export interface RunListener {
  /** The container is running and the job's clock has started. */
  onStarted(event: { containerId: string; startedAt: Date }): void;
  /** A chunk of the job's stdout or stderr, as soon as it arrives. */
  onOutput(stream: OutputStream, data: string): void;
}

/** Why the container stopped. */
export type StopReason = 'exited' | 'timeout' | 'aborted';

export interface RunTimings {
  /** Create + attach + start: what the job waited for its container. */
  readonly containerStartMs: number;
  /** Container start to exit. */
  readonly runMs: number;
}

/** What happened to the container, without judgement: the caller decides the status. */
export interface RunOutcome {
  readonly containerId: string;
  readonly imageId: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly stopReason: StopReason;
  readonly containerExitCode: number | null;
  readonly oomKilled: boolean;
  /** The harness's final frame, or null when the harness never sent one. */
  readonly exit: HarnessExit | null;
  readonly truncated: { readonly stdout: boolean; readonly stderr: boolean };
  /** The harness's own failure message, if it reported one. */
  readonly harnessError: string | null;
  /**
   * The files the code left under `out/`, as far as the job's `output_files` budget went;
   * null when the job asked for none, or the harness sent no exit frame.
   */
  readonly outputFiles: OutputFiles | null;
  /**
   * The matplotlib figures the code showed or left open, within the job's `figures`
   * budget; null when the job asked for none, drew none, or the harness sent no result.
   */
  readonly figures: CapturedFigures | null;
  /** Anything the container wrote outside the protocol (a Python crash, say). */
  readonly diagnostics: string;
  readonly timings: RunTimings;
}

/** One item of a batch: a job's payload, input data and files, without a container of its own. */
export interface SandboxBatchItem {
  /** The caller's id for the item; the listener and the outcomes name it. */
  readonly itemId: string;
  /** As a job's (SandboxJob.payload): its own time limit, output cap and output files budget. */
  readonly payload: Omit<HarnessPayload, 'input_data' | 'files'>;
  /** `input_data` as JSON text, forwarded to the harness without being parsed here. */
  readonly inputJson: string;
  /** Put in the item's own working directory before its code starts, in this order. */
  readonly files?: readonly JobInputFile[];
}

/**
 * Many items of one caller in one container (PROTOCOL.md, "Batches"): each item runs in a
 * worker forked from the pristine harness, in a fresh working directory of its own, with
 * its own limits and result; an item that fails, hangs or runs out of memory fails alone.
 */
export interface SandboxBatchJob {
  /** Our id for the batch; put on the container as a label. */
  readonly jobId: string;
  readonly image: string;
  readonly limits: ContainerLimits;
  /**
   * Wall-clock budget of the whole batch from container start: the backstop. Each item's
   * own `time_limit_s` is enforced by the harness.
   */
  readonly timeoutMs: number;
  /** Items run at once: 1 to MAX_BATCH_PARALLELISM (sensibly, up to the container's cpus rounded up). */
  readonly parallelism: number;
  /** Run in this order, at most `parallelism` at a time. */
  readonly items: readonly SandboxBatchItem[];
}

/** The most items a batch runs at once (MAX_PARALLELISM in sandbox_harness.py). */
export const MAX_BATCH_PARALLELISM = 64;

/**
 * How an item ended:
 * - `exited`: the harness reported its end (`exit`: how its worker ended, timeouts and
 *   crashes included);
 * - `harness_error`: the harness could not run it (an input file it could not write);
 * - `aborted` / `timeout`: the batch was cancelled, or reached its backstop, before the item ended;
 * - `lost`: the container ended, or the harness failed, before the item ended.
 * The last three say whether the item had started by `startedAt`.
 */
export type ItemEnding = 'exited' | 'harness_error' | 'aborted' | 'timeout' | 'lost';

/** What became of one item of a batch: what a RunOutcome says of a job, for this item. */
export interface ItemOutcome {
  readonly itemId: string;
  /** The item's position in the batch. */
  readonly index: number;
  readonly ending: ItemEnding;
  /** The harness's item_exit frame (its exit fields), or null when it sent none. */
  readonly exit: HarnessExit | null;
  /**
   * The kernel's OOM killer most likely took the item's worker: SIGKILL without the
   * harness's own timeout. The best available signal: the container's state tells only of
   * the container (PROTOCOL.md, "Batches").
   */
  readonly oomKilled: boolean;
  readonly truncated: { readonly stdout: boolean; readonly stderr: boolean };
  /** Why the harness could not run the item (ending `harness_error`). */
  readonly harnessError: string | null;
  /** As RunOutcome.outputFiles, for this item; null without an exit frame or a request. */
  readonly outputFiles: OutputFiles | null;
  /** As RunOutcome.figures, for this item. */
  readonly figures: CapturedFigures | null;
  /** When its worker was forked (the item_start frame); null if it never started. */
  readonly startedAt: Date | null;
  /** When the runner learned of its end. */
  readonly endedAt: Date;
}

export interface BatchRunListener {
  /** The container is running and the batch's clock has started. */
  onStarted(event: { containerId: string; startedAt: Date }): void;
  /** The item's worker was forked: its own clock has started. */
  onItemStarted(itemId: string, startedAt: Date): void;
  /** A chunk of the item's stdout or stderr, as soon as it arrives. */
  onItemOutput(itemId: string, stream: OutputStream, data: string): void;
  /**
   * The item ended, for good: called once for every item, at the latest before runBatch
   * resolves (items that never ended then, marked aborted, timeout or lost).
   */
  onItemFinished(itemId: string, outcome: ItemOutcome): void;
}

/** What happened to a batch's container, and to each of its items. */
export interface BatchRunOutcome {
  readonly containerId: string;
  readonly imageId: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly stopReason: StopReason;
  /** Null when the batch was answered at its batch_exit frame, the container still running. */
  readonly containerExitCode: number | null;
  /** The container's own OOM kill (its harness, not an item's worker): every item not ended is lost. */
  readonly oomKilled: boolean;
  /** True when the harness sent its batch_exit frame: every item it ran has ended. */
  readonly completed: boolean;
  /** The harness's own failure (a bad payload, stdin ending early), if it reported one. */
  readonly harnessError: string | null;
  /** Anything the container wrote outside the protocol, and frames that were rejected. */
  readonly diagnostics: string;
  /** Every item, in the batch's order. */
  readonly items: readonly ItemOutcome[];
  readonly timings: RunTimings;
}

/**
 * How containers of an image get the harness (PROTOCOL.md): compiled by the image's own
 * Python, of that version; or as source, until that is done or when it failed.
 */
export type HarnessDelivery =
  { readonly form: 'compiled'; readonly python: string } | { readonly form: 'source' };

export interface EngineImage {
  readonly id: string;
  readonly tag: string;
}

/**
 * Port to the container engine. Implementations only talk to the engine; statuses,
 * limits and retries are decided by the callers.
 */
export abstract class DockerRunner {
  /** Runs the job in a fresh container that is always removed before this settles. */
  abstract run(job: SandboxJob, listener: RunListener, signal: AbortSignal): Promise<RunOutcome>;
  /**
   * Runs the batch's items in one container (PROTOCOL.md, "Batches"), always removed
   * before this settles; answers once the harness reported the last item.
   */
  abstract runBatch(
    job: SandboxBatchJob,
    listener: BatchRunListener,
    signal: AbortSignal,
  ): Promise<BatchRunOutcome>;
  /** Resolves when the engine answers. */
  abstract ping(): Promise<void>;
  /** Names of the container runtimes the engine knows (`runc`, `runsc`, ...). */
  abstract runtimes(): Promise<string[]>;
  /** The image under that tag, or null when the engine does not have it. */
  abstract findImage(tag: string): Promise<EngineImage | null>;
  /** How the next container of this image tag gets the harness. */
  abstract harnessDelivery(tag: string): HarnessDelivery;
  /**
   * What the image under this tag holds (its Python, packages and importable modules), read
   * by a one-off container of it, created with these limits like any job's and always
   * removed before this settles. ImageMissingError when the engine lacks the tag.
   */
  abstract probeImage(tag: string, limits: ContainerLimits): Promise<ImageInventory>;
  /** Starts containers ahead of jobs, where the adapter keeps a warm pool. Call after removeLeftovers(). */
  abstract warmUp(): void;
  /** Removes every container of this instance (leftovers of a crashed process). */
  abstract removeLeftovers(): Promise<number>;
  /**
   * At shutdown, once the jobs ended: removes the warm containers and waits for the
   * removals under way, so that the runner leaves nothing of its own behind.
   */
  abstract close(): Promise<void>;
  /** How many containers of this instance exist right now (running jobs, and any not yet removed). */
  abstract countOwnContainers(): Promise<number>;
  /**
   * Follows the engine's event stream: `onChange` is called when an image changes (a tag
   * added or removed) and when the stream breaks (the engine stopping, or gone). Returns
   * a function that stops following.
   */
  abstract watchEngine(onChange: (reason: string) => void): () => void;
}

/** The engine could not be reached or refused a call. */
export class EngineUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineUnavailableError';
  }
}

/** The engine answered, but has no image under the job's tag. */
export class ImageMissingError extends EngineUnavailableError {
  constructor(tag: string, options?: { cause?: unknown }) {
    super(`the engine has no image ${tag}`, options);
    this.name = 'ImageMissingError';
  }
}
