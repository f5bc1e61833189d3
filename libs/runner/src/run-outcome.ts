import { RunOutcome, StopReason } from './docker-runner';
import { CollectedFrames } from './harness-frame-collector';
import { HarnessExit } from './harness/harness-protocol';

const SIGKILL = 9;

/**
 * What ended the wait for a run: the harness's exit frame, or else the end of the attach
 * stream (the container ended without one, or the engine went away) or the last-resort
 * deadline.
 */
export type RunEndSign = 'frame' | 'ended';

/** How the container ended, as far as the runner learned it. */
export type ContainerEnd = Pick<RunOutcome, 'imageId' | 'containerExitCode' | 'oomKilled'>;

/** Everything a finished run's outcome is made of. */
export interface RunRecord {
  readonly containerId: string;
  /** When the job asked for its container (epoch ms). */
  readonly acquiredAt: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly stopReason: StopReason;
  readonly frames: CollectedFrames;
  readonly container: ContainerEnd;
}

/**
 * An exit frame the runner may answer at once: one whose worker a SIGKILL ended, other
 * than the harness's own deadline, may have met the kernel's OOM killer, which only the
 * container's state tells, so that one waits for it.
 */
export function isFinal(frame: HarnessExit): boolean {
  return frame.signal !== SIGKILL || frame.harness_timeout;
}

/**
 * Whether the run is answered at the harness's exit frame, without waiting for the
 * container: the frame came first, is final, and nothing stopped the container.
 */
export function answersAtExitFrame(
  endSign: RunEndSign,
  frame: HarnessExit | null,
  stopReason: StopReason,
): boolean {
  return endSign === 'frame' && frame !== null && isFinal(frame) && stopReason === 'exited';
}

/**
 * The container at the harness's exit frame: still running, so no exit code and no OOM
 * kill to tell; its image as the engine watch last found the tag.
 */
export function containerAtExitFrame(imageId: string | null): ContainerEnd {
  return { imageId, containerExitCode: null, oomKilled: false };
}

/** The outcome as the harness reported it, with how the container ended. */
export function runOutcomeOf(run: RunRecord): RunOutcome {
  const { exit, truncated, harnessError, outputFiles, figures, diagnostics } = run.frames;
  return {
    containerId: run.containerId,
    ...run.container,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    stopReason: run.stopReason,
    exit,
    truncated,
    harnessError,
    outputFiles,
    figures,
    diagnostics,
    timings: {
      containerStartMs: run.startedAt.getTime() - run.acquiredAt,
      runMs: run.endedAt.getTime() - run.startedAt.getTime(),
    },
  };
}

/** The outcome of a job cancelled before its container was given the job. */
export function abortedBeforeStartOutcome(
  containerId: string,
  acquiredAt: number,
  now: Date,
): RunOutcome {
  return {
    containerId,
    imageId: null,
    startedAt: now,
    endedAt: now,
    stopReason: 'aborted',
    containerExitCode: null,
    oomKilled: false,
    exit: null,
    truncated: { stdout: false, stderr: false },
    harnessError: null,
    outputFiles: null,
    figures: null,
    diagnostics: '',
    timings: { containerStartMs: now.getTime() - acquiredAt, runMs: 0 },
  };
}
