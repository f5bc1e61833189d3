import { Readable } from 'node:stream';
import { RunListener } from './docker-runner';
import {
  FiguresRequest,
  HarnessExit,
  HarnessFrameDecoder,
  MAX_FRAME_BYTES,
  MAX_REJECTION_REASONS,
  OutputFilesRequest,
  OutputStream,
} from './harness/harness-protocol';
import { CapturedFigures, OutputFileAssembler, OutputFiles } from './output-files';

/** What we keep of output written outside the protocol, for diagnosis only. */
export const MAX_DIAGNOSTICS_BYTES = 16 * 1024;

/** What the harness reported over a run, as far as it got. */
export interface CollectedFrames {
  /** The harness's exit frame, or null while it has sent none. */
  readonly exit: HarnessExit | null;
  readonly truncated: { readonly stdout: boolean; readonly stderr: boolean };
  readonly harnessError: string | null;
  /** The files sent back from out/: null while there is no exit frame, or when the job asked for none. */
  readonly outputFiles: OutputFiles | null;
  /** The figures: null while there is no exit frame, or when the job asked for none or drew none. */
  readonly figures: CapturedFigures | null;
  /** Output outside the protocol: stderr, and lines on the harness channel that were not frames. */
  readonly diagnostics: string;
}

/**
 * Follows one container's demultiplexed output from construction on: decodes the
 * harness's channel (stdout) into frames, hands the job's output to `onOutput` as it
 * arrives, and keeps the rest (the exit frame, truncation, a harness error, the output
 * files, and what was written on stderr) for the run's outcome.
 */
export class HarnessFrameCollector {
  /** Settles at the harness's first exit frame. */
  readonly exitArrived: Promise<void>;
  private readonly decoder = new HarnessFrameDecoder(MAX_FRAME_BYTES);
  private readonly truncated = { stdout: false, stderr: false };
  private readonly outputFileAssembler: OutputFileAssembler;
  private readonly strayOutput = new StrayOutput();
  private exitFrame: HarnessExit | null = null;
  private harnessError: string | null = null;
  private announceExit!: () => void;

  constructor(
    harnessChannel: Readable,
    strayChannel: Readable,
    private readonly onOutput: RunListener['onOutput'],
    requests: {
      readonly outputFiles: OutputFilesRequest | null;
      readonly figures: FiguresRequest | null;
    },
  ) {
    this.outputFileAssembler = new OutputFileAssembler(requests.outputFiles, requests.figures);
    this.exitArrived = new Promise<void>((resolve) => (this.announceExit = resolve));
    harnessChannel.on('data', (chunk: Buffer) => this.readFrames(chunk));
    strayChannel.on('data', (chunk: Buffer) => this.strayOutput.keep(chunk));
  }

  /** The latest exit frame, or null while the harness has sent none. */
  get exit(): HarnessExit | null {
    return this.exitFrame;
  }

  /** What has been collected so far. */
  collected(): CollectedFrames {
    return {
      exit: this.exitFrame,
      truncated: this.truncated,
      harnessError: this.harnessError,
      outputFiles:
        this.exitFrame && this.outputFileAssembler.outputFiles(this.exitFrame.output_files),
      figures: figuresOf(this.outputFileAssembler, this.exitFrame),
      diagnostics: diagnosticsOf(
        this.decoder,
        [{ what: 'file frames', by: [this.outputFileAssembler] }],
        this.strayOutput.text,
      ),
    };
  }

  private readFrames(chunk: Buffer): void {
    for (const message of this.decoder.push(chunk)) {
      switch (message.type) {
        case 'stdout':
        case 'stderr':
          this.onOutput(message.type, message.data);
          break;
        case 'truncated':
          this.truncated[message.stream satisfies OutputStream] = true;
          break;
        case 'file':
          this.outputFileAssembler.fileStarts(message.path, message.size);
          break;
        case 'figure':
          this.outputFileAssembler.figureStarts(message.index, message.size);
          break;
        case 'file_data':
          this.outputFileAssembler.fileData(message.data);
          break;
        case 'exit':
          this.outputFileAssembler.end();
          this.exitFrame = message;
          this.announceExit();
          break;
        case 'harness_error':
          this.harnessError = message.message;
          break;
      }
    }
  }
}

/** The figures an exit frame's result describes, with their PNGs; null without either. */
export function figuresOf(
  assembler: OutputFileAssembler,
  exit: HarnessExit | null,
): CapturedFigures | null {
  const result = exit?.result;
  return result ? assembler.figures(result.figures, result.figures_omitted) : null;
}

/** Output written outside the protocol (the container's stderr), kept for diagnosis, bounded. */
export class StrayOutput {
  private kept = '';

  get text(): string {
    return this.kept;
  }

  keep(chunk: Buffer): void {
    if (this.kept.length < MAX_DIAGNOSTICS_BYTES) {
      this.kept += chunk.toString('utf8').slice(0, MAX_DIAGNOSTICS_BYTES - this.kept.length);
    }
  }
}

/** Frames that were turned down, and why: the first reasons only. */
export interface Rejections {
  readonly rejectedFrames: number;
  readonly rejectionReasons: readonly string[];
}

/** Frames of one kind (`what`: "file frames") turned down, by one or more parties. */
export interface RejectedFrames {
  readonly what: string;
  readonly by: readonly Rejections[];
}

/** A run's diagnostics: the lines that were not frames, the frames rejected, the stray output. */
export function diagnosticsOf(
  decoder: { readonly rejectedLines: number; readonly rejectionReasons: readonly string[] },
  rejected: readonly RejectedFrames[],
  strayOutput: string,
): string {
  const rejections = rejected.map(({ what, by }) => {
    const count = by.reduce((sum, party) => sum + party.rejectedFrames, 0);
    const reasons = by.flatMap((party) => party.rejectionReasons).slice(0, MAX_REJECTION_REASONS);
    return count > 0 && `${count} ${what} were rejected:\n${reasons.join('\n')}\n`;
  });
  return [
    decoder.rejectedLines > 0 &&
      `${decoder.rejectedLines} lines on the harness channel were not frames:\n${decoder.rejectionReasons.join('\n')}\n`,
    ...rejections,
    strayOutput,
  ]
    .filter((part) => part !== false)
    .join('');
}
