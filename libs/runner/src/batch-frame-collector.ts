import { Readable } from 'node:stream';
import { ItemRecord, itemOutcomeOf } from './batch-outcome';
import { BatchRunListener, ItemEnding, ItemOutcome, SandboxBatchItem } from './docker-runner';
import { StrayOutput, diagnosticsOf, figuresOf } from './harness-frame-collector';
import {
  BatchFrameDecoder,
  BatchMessage,
  HarnessExit,
  MAX_FRAME_BYTES,
  MAX_REJECTION_REASONS,
} from './harness/harness-protocol';
import { OutputFileAssembler } from './output-files';

/** The listener's calls about items: the collector makes them as the frames arrive. */
export type ItemListener = Pick<
  BatchRunListener,
  'onItemStarted' | 'onItemOutput' | 'onItemFinished'
>;

/** What the harness reported of a batch besides its items, as far as it got. */
export interface CollectedBatch {
  /** The batch_exit frame arrived: every item the harness ran has ended. */
  readonly completed: boolean;
  /** The batch's own harness_error (the first), not an item's. */
  readonly harnessError: string | null;
  /** Output outside the protocol, and frames that were rejected. */
  readonly diagnostics: string;
}

type Truncation = { stdout: boolean; stderr: boolean };

/** One item while the frames about it arrive. */
class ItemState implements ItemRecord {
  startedAt: Date | null = null;
  readonly truncated: Truncation = { stdout: false, stderr: false };
  readonly files: OutputFileAssembler;
  outcome: ItemOutcome | null = null;

  constructor(
    readonly itemId: string,
    readonly index: number,
    item: SandboxBatchItem,
  ) {
    this.files = new OutputFileAssembler(
      item.payload.output_files ?? null,
      item.payload.figures ?? null,
    );
  }
}

/**
 * Follows one batch container's demultiplexed output from construction on: decodes the
 * harness's channel into batch frames and routes each of an item's frames to that item
 * (PROTOCOL.md, "Batches"), telling the listener as items start, print and end. A frame
 * for an item the batch does not have, or for one that already ended, is rejected and
 * counted in the diagnostics. Each item keeps no more of its output files than its own
 * budget; its output is forwarded, never kept.
 */
export class BatchFrameCollector {
  /** Settles at the harness's batch_exit frame. */
  readonly batchExitArrived: Promise<void>;
  private readonly decoder = new BatchFrameDecoder(MAX_FRAME_BYTES);
  private readonly items: readonly ItemState[];
  private readonly strayOutput = new StrayOutput();
  private batchExit = false;
  private harnessError: string | null = null;
  private rejectedItemFrames = 0;
  private readonly itemRejectionReasons: string[] = [];
  private announceBatchExit!: () => void;

  constructor(
    harnessChannel: Readable,
    strayChannel: Readable,
    items: readonly SandboxBatchItem[],
    private readonly listener: ItemListener,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.items = items.map((item, index) => new ItemState(item.itemId, index, item));
    this.batchExitArrived = new Promise<void>((resolve) => (this.announceBatchExit = resolve));
    harnessChannel.on('data', (chunk: Buffer) => this.readFrames(chunk));
    strayChannel.on('data', (chunk: Buffer) => this.strayOutput.keep(chunk));
  }

  /** True once the batch_exit frame arrived. */
  get completed(): boolean {
    return this.batchExit;
  }

  /**
   * Every item's outcome, in the batch's order: an item that has not ended ends now with
   * `ending`, and the listener is told. Call once, when the batch is over.
   */
  finish(ending: Extract<ItemEnding, 'aborted' | 'timeout' | 'lost'>): ItemOutcome[] {
    return this.items.map(
      (item) =>
        item.outcome ??
        this.end(item, {
          ending,
          exit: null,
          harnessError: null,
          outputFiles: null,
          figures: null,
        }),
    );
  }

  collected(): CollectedBatch {
    return {
      completed: this.batchExit,
      harnessError: this.harnessError,
      diagnostics: diagnosticsOf(
        this.decoder,
        [
          { what: 'file frames', by: this.items.map((item) => item.files) },
          {
            what: 'item frames',
            by: [
              {
                rejectedFrames: this.rejectedItemFrames,
                rejectionReasons: this.itemRejectionReasons,
              },
            ],
          },
        ],
        this.strayOutput.text,
      ),
    };
  }

  private readFrames(chunk: Buffer): void {
    for (const message of this.decoder.push(chunk)) this.route(message);
  }

  private route(message: BatchMessage): void {
    if (message.type === 'batch_exit') {
      this.batchExit = true;
      this.announceBatchExit();
      return;
    }
    if (message.type === 'harness_error' && message.item === undefined) {
      this.harnessError ??= message.message;
      return;
    }
    const item = this.items.at(message.item ?? -1);
    if (item === undefined || message.item === undefined || message.item < 0) {
      this.rejectItemFrame(`a ${message.type} frame for item ${message.item}, not in the batch`);
      return;
    }
    if (item.outcome !== null) {
      this.rejectItemFrame(`a ${message.type} frame for item ${item.index} after its end`);
      return;
    }
    switch (message.type) {
      case 'item_start':
        if (item.startedAt !== null) {
          this.rejectItemFrame(`a second item_start frame for item ${item.index}`);
          return;
        }
        item.startedAt = this.now();
        this.listener.onItemStarted(item.itemId, item.startedAt);
        break;
      case 'stdout':
      case 'stderr':
        this.listener.onItemOutput(item.itemId, message.type, message.data);
        break;
      case 'truncated':
        item.truncated[message.stream] = true;
        break;
      case 'file':
        item.files.fileStarts(message.path, message.size);
        break;
      case 'figure':
        item.files.figureStarts(message.index, message.size);
        break;
      case 'file_data':
        item.files.fileData(message.data);
        break;
      case 'item_exit': {
        item.files.end();
        const exit = exitFieldsOf(message);
        this.end(item, {
          ending: 'exited',
          exit,
          harnessError: null,
          outputFiles: item.files.outputFiles(exit.output_files),
          figures: figuresOf(item.files, exit),
        });
        break;
      }
      case 'harness_error':
        this.end(item, {
          ending: 'harness_error',
          exit: null,
          harnessError: message.message,
          outputFiles: null,
          figures: null,
        });
        break;
    }
  }

  private end(
    item: ItemState,
    end: Omit<Parameters<typeof itemOutcomeOf>[1], 'endedAt'>,
  ): ItemOutcome {
    const outcome = itemOutcomeOf(item, { ...end, endedAt: this.now() });
    item.outcome = outcome;
    this.listener.onItemFinished(item.itemId, outcome);
    return outcome;
  }

  private rejectItemFrame(reason: string): void {
    this.rejectedItemFrames += 1;
    if (this.itemRejectionReasons.length < MAX_REJECTION_REASONS) {
      this.itemRejectionReasons.push(reason);
    }
  }
}

/** The exit fields of an item_exit frame, as a job's exit frame has them. */
function exitFieldsOf({
  type: _type,
  item: _item,
  ...exit
}: Extract<BatchMessage, { type: 'item_exit' }>): HarnessExit {
  return exit;
}
