import {
  BatchRunOutcome,
  ItemEnding,
  ItemOutcome,
  SandboxBatchItem,
  StopReason,
} from './docker-runner';
import { HarnessExit } from './harness/harness-protocol';
import { CapturedFigures, OutputFiles } from './output-files';
import { ContainerEnd, isFinal } from './run-outcome';

/** What the runner knows of an item when it ends (BatchFrameCollector keeps it). */
export interface ItemRecord {
  readonly itemId: string;
  readonly index: number;
  readonly startedAt: Date | null;
  readonly truncated: { readonly stdout: boolean; readonly stderr: boolean };
}

/** How it ended: its exit frame, its harness error, or neither (it never ended). */
export interface ItemEnd {
  readonly ending: ItemEnding;
  readonly exit: HarnessExit | null;
  readonly harnessError: string | null;
  readonly outputFiles: OutputFiles | null;
  readonly figures: CapturedFigures | null;
  readonly endedAt: Date;
}

/**
 * An item's outcome. Its worker is taken as killed by the kernel's OOM killer when a
 * SIGKILL ended it other than the harness's own deadline: within a batch the container's
 * state cannot tell one item's worker from another, so this is the best signal there is
 * (each item's worker is the OOM killer's first choice, PROTOCOL.md "Batches").
 */
export function itemOutcomeOf(item: ItemRecord, end: ItemEnd): ItemOutcome {
  return {
    itemId: item.itemId,
    index: item.index,
    ending: end.ending,
    exit: end.exit,
    oomKilled: end.exit !== null && !isFinal(end.exit),
    truncated: { ...item.truncated },
    harnessError: end.harnessError,
    outputFiles: end.outputFiles,
    figures: end.figures,
    startedAt: item.startedAt,
    endedAt: end.endedAt,
  };
}

/** How an item that never ended is reported, by why the batch stopped. */
export function unfinishedEnding(
  stopReason: StopReason,
): Exclude<ItemEnding, 'exited' | 'harness_error'> {
  return stopReason === 'exited' ? 'lost' : stopReason;
}

/** Everything a finished batch's outcome is made of. */
export interface BatchRecord {
  readonly containerId: string;
  /** When the batch asked for its container (epoch ms). */
  readonly acquiredAt: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly stopReason: StopReason;
  readonly container: ContainerEnd;
  readonly completed: boolean;
  readonly harnessError: string | null;
  readonly diagnostics: string;
  readonly items: readonly ItemOutcome[];
}

export function batchOutcomeOf(batch: BatchRecord): BatchRunOutcome {
  return {
    containerId: batch.containerId,
    ...batch.container,
    startedAt: batch.startedAt,
    endedAt: batch.endedAt,
    stopReason: batch.stopReason,
    completed: batch.completed,
    harnessError: batch.harnessError,
    diagnostics: batch.diagnostics,
    items: batch.items,
    timings: {
      containerStartMs: batch.startedAt.getTime() - batch.acquiredAt,
      runMs: batch.endedAt.getTime() - batch.startedAt.getTime(),
    },
  };
}

/** The outcome of a batch cancelled before its container was given the batch: no item ran. */
export function batchAbortedBeforeStartOutcome(
  containerId: string,
  items: readonly SandboxBatchItem[],
  acquiredAt: number,
  now: Date,
): BatchRunOutcome {
  return batchOutcomeOf({
    containerId,
    acquiredAt,
    startedAt: now,
    endedAt: now,
    stopReason: 'aborted',
    container: { imageId: null, containerExitCode: null, oomKilled: false },
    completed: false,
    harnessError: null,
    diagnostics: '',
    items: items.map((item, index) =>
      itemOutcomeOf(
        {
          itemId: item.itemId,
          index,
          startedAt: null,
          truncated: { stdout: false, stderr: false },
        },
        {
          ending: 'aborted',
          exit: null,
          harnessError: null,
          outputFiles: null,
          figures: null,
          endedAt: now,
        },
      ),
    ),
  });
}
