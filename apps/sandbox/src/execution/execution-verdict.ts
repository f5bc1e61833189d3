import type { HarnessException, RunOutcome } from '@brain-net/runner';
import type { ExecutionStatus } from '@brain-net/store';

export interface ExecutionVerdict {
  readonly status: Exclude<ExecutionStatus, 'queued' | 'running'>;
  readonly error: string | null;
  /** The job's exit code; 128 + n when a signal n killed it, as shells report it. */
  readonly exitCode: number | null;
}

const SIGNAL_NAMES: Record<number, string> = {
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
};

/** Decides what a finished container means for the execution. */
export function judgeOutcome(
  outcome: RunOutcome,
  context: { readonly timeoutS: number; readonly memoryBytes: number },
): ExecutionVerdict {
  const exit = outcome.exit;
  const exitCode =
    exit === null
      ? outcome.containerExitCode
      : exit.signal !== null
        ? 128 + exit.signal
        : exit.exit_code;

  if (outcome.stopReason === 'aborted') {
    return { status: 'cancelled', error: 'The execution was cancelled.', exitCode };
  }
  if (outcome.stopReason === 'timeout' || exit?.harness_timeout) {
    return {
      status: 'timeout',
      error: `The execution exceeded its timeout of ${context.timeoutS} s and was killed.`,
      exitCode,
    };
  }
  if (outcome.oomKilled) {
    const mib = Math.round(context.memoryBytes / (1024 * 1024));
    return {
      status: 'failed',
      error: `MemoryError: the memory limit of ${mib} MiB was exceeded and the process was OOM-killed.`,
      exitCode,
    };
  }
  if (outcome.harnessError !== null) {
    return {
      status: 'failed',
      error: `The sandbox harness failed: ${outcome.harnessError}`,
      exitCode,
    };
  }
  if (exit === null) {
    const detail = outcome.diagnostics.trim();
    return {
      status: 'failed',
      error:
        `The sandbox ended unexpectedly (container exit code ${outcome.containerExitCode ?? 'unknown'})` +
        (detail ? `: ${detail.slice(-500)}` : '.'),
      exitCode,
    };
  }
  if (exit.result_error !== null) {
    // Only code that tampered with the harness's result pipe gets here.
    return {
      status: 'failed',
      error: `The sandbox harness rejected the program's result: ${exit.result_error}`,
      exitCode,
    };
  }
  const raised = exit.result?.exceptions[0];
  if (raised) return { status: 'failed', error: describeException(raised), exitCode };
  if (exit.signal !== null) {
    const name = SIGNAL_NAMES[exit.signal] ?? `signal ${exit.signal}`;
    return { status: 'failed', error: `The process was killed by ${name}.`, exitCode };
  }
  if (exit.exit_code !== 0) {
    return { status: 'failed', error: `The process exited with code ${exit.exit_code}.`, exitCode };
  }
  return { status: 'completed', error: null, exitCode };
}

/** `ZeroDivisionError: division by zero (line 3)` */
export function describeException(exception: HarnessException): string {
  const where = exception.line !== null ? ` (line ${exception.line})` : '';
  return `${exception.type}: ${exception.message}${where}`;
}
