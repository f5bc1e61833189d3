import { Readable } from 'node:stream';
import { RunListener } from './docker-runner';
import {
  HarnessExit,
  HarnessFrameDecoder,
  MAX_FRAME_BYTES,
  OutputFilesRequest,
  OutputStream,
} from './harness/harness-protocol';
import { OutputFileAssembler, OutputFiles } from './output-files';

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
  private exitFrame: HarnessExit | null = null;
  private harnessError: string | null = null;
  private strayOutput = '';
  private announceExit!: () => void;

  constructor(
    harnessChannel: Readable,
    strayChannel: Readable,
    private readonly onOutput: RunListener['onOutput'],
    outputFilesRequest: OutputFilesRequest | null,
  ) {
    this.outputFileAssembler = new OutputFileAssembler(outputFilesRequest);
    this.exitArrived = new Promise<void>((resolve) => (this.announceExit = resolve));
    harnessChannel.on('data', (chunk: Buffer) => this.readFrames(chunk));
    strayChannel.on('data', (chunk: Buffer) => this.keepStrayOutput(chunk));
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
      diagnostics: this.diagnostics(),
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

  private keepStrayOutput(chunk: Buffer): void {
    if (this.strayOutput.length < MAX_DIAGNOSTICS_BYTES) {
      this.strayOutput += chunk
        .toString('utf8')
        .slice(0, MAX_DIAGNOSTICS_BYTES - this.strayOutput.length);
    }
  }

  private diagnostics(): string {
    const { rejectedLines, rejectionReasons } = this.decoder;
    const { rejectedFrames, rejectionReasons: fileReasons } = this.outputFileAssembler;
    return [
      rejectedLines > 0 &&
        `${rejectedLines} lines on the harness channel were not frames:\n${rejectionReasons.join('\n')}\n`,
      rejectedFrames > 0 &&
        `${rejectedFrames} file frames were rejected:\n${fileReasons.join('\n')}\n`,
      this.strayOutput,
    ]
      .filter((part) => part !== false)
      .join('');
  }
}
