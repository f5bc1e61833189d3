import type { Writable } from 'node:stream';

/** A file the job's code finds in its working directory (PROTOCOL.md, "Into the container"). */
export interface JobInputFile {
  /** Relative POSIX path, already checked by the service (the harness checks it again). */
  readonly path: string;
  /** Exact size in bytes: the harness reads exactly this many, and so many are sent. */
  readonly size: number;
  /** The file's bytes, opened when the runner sends them: one file at a time. */
  open(): Promise<NodeJS.ReadableStream>;
}

/** An input file could not be sent as announced: the run is given up as a runner error. */
export class InputFileError extends Error {
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(`input file ${JSON.stringify(path)}: ${problem}`, options);
    this.name = 'InputFileError';
  }
}

/**
 * Writes each file's bytes to `destination` (the container's stdin, after the payload),
 * in order, exactly `size` bytes each, streamed and waiting for `destination` to drain,
 * so that no file is ever held whole. Stops quietly once `destination` is gone or
 * `signal` aborts (the run ended some other way). Rejects with an InputFileError when a
 * file cannot be read or its stream gives another number of bytes than its size: more is
 * never written, since the harness would take the excess for the next file.
 */
export async function writeInputFiles(
  destination: Writable,
  files: readonly JobInputFile[],
  signal: AbortSignal,
): Promise<void> {
  for (const file of files) {
    if (!(await writeInputFile(destination, file, signal))) return;
  }
}

/** False when `destination` went away or `signal` aborted before the file was written. */
async function writeInputFile(
  destination: Writable,
  file: JobInputFile,
  signal: AbortSignal,
): Promise<boolean> {
  let source: NodeJS.ReadableStream;
  try {
    source = await file.open();
  } catch (error: unknown) {
    throw new InputFileError(file.path, `cannot open it: ${describe(error)}`, { cause: error });
  }
  let written = 0;
  try {
    for await (const chunk of source) {
      if (typeof chunk === 'string') throw new InputFileError(file.path, 'its stream gave text');
      written += chunk.length;
      if (written > file.size) {
        throw new InputFileError(file.path, `its stream gave more than ${file.size} bytes`);
      }
      // Leaving the loop destroys the source.
      if (!writable(destination, signal)) return false;
      if (!destination.write(chunk) && !(await drained(destination, signal))) return false;
    }
  } catch (error: unknown) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(file.path, `cannot read it: ${describe(error)}`, { cause: error });
  }
  if (written !== file.size) {
    throw new InputFileError(file.path, `its stream gave ${written} of ${file.size} bytes`);
  }
  return true;
}

function writable(destination: Writable, signal: AbortSignal): boolean {
  return !signal.aborted && !destination.destroyed && !destination.writableEnded;
}

/** True once `destination` drained; false if it closed, failed or `signal` aborted first. */
function drained(destination: Writable, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (drainedFirst: boolean) => () => {
      destination.off('drain', onDrain);
      destination.off('close', onGone);
      destination.off('error', onGone);
      signal.removeEventListener('abort', onGone);
      resolve(drainedFirst);
    };
    const onDrain = settle(true);
    const onGone = settle(false);
    destination.on('drain', onDrain);
    destination.on('close', onGone);
    destination.on('error', onGone);
    signal.addEventListener('abort', onGone);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
