import { ContainerLimits } from './container-limits';
import { HarnessExit, HarnessPayload, OutputStream } from './harness/harness-protocol';
import type { JobInputFile } from './input-files';
import type { OutputFiles } from './output-files';

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
  /** Anything the container wrote outside the protocol (a Python crash, say). */
  readonly diagnostics: string;
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
  /** Resolves when the engine answers. */
  abstract ping(): Promise<void>;
  /** Names of the container runtimes the engine knows (`runc`, `runsc`, ...). */
  abstract runtimes(): Promise<string[]>;
  /** The image under that tag, or null when the engine does not have it. */
  abstract findImage(tag: string): Promise<EngineImage | null>;
  /** How the next container of this image tag gets the harness. */
  abstract harnessDelivery(tag: string): HarnessDelivery;
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
