import type { HarnessExit, RunOutcome } from '@brain-net/runner';
import { judgeOutcome } from './execution-verdict';

const context = { timeoutS: 5, memoryBytes: 256 * 1024 * 1024 };

function exitFrame(overrides: Partial<HarnessExit> = {}): HarnessExit {
  return {
    exit_code: 0,
    signal: null,
    harness_timeout: false,
    max_rss_kb: 9000,
    cpu_time_ms: 12,
    stdout_bytes: 0,
    stderr_bytes: 0,
    result: {
      duration_ms: 1,
      exceptions: [],
      variables_after: null,
      variables_omitted: 0,
      figures: null,
      figures_omitted: 0,
      profile: null,
    },
    result_error: null,
    output_files: null,
    ...overrides,
  };
}

function outcome(overrides: Partial<RunOutcome> = {}): RunOutcome {
  const now = new Date();
  return {
    containerId: 'c',
    imageId: 'sha256:x',
    startedAt: now,
    endedAt: now,
    stopReason: 'exited',
    containerExitCode: 0,
    oomKilled: false,
    exit: exitFrame(),
    truncated: { stdout: false, stderr: false },
    harnessError: null,
    diagnostics: '',
    timings: { containerStartMs: 100, runMs: 20 },
    outputFiles: null,
    figures: null,
    ...overrides,
  };
}

describe('judgeOutcome', () => {
  it('reports a result the harness rejected as a harness error naming the problem', () => {
    const exit = exitFrame({ result: null, result_error: 'exceptions is not a list' });
    expect(judgeOutcome(outcome({ exit }), context)).toEqual({
      status: 'failed',
      error: "The sandbox harness rejected the program's result: exceptions is not a list",
      exitCode: 0,
    });
  });

  it('calls a clean exit completed', () => {
    expect(judgeOutcome(outcome(), context)).toEqual({
      status: 'completed',
      error: null,
      exitCode: 0,
    });
  });

  it('names the exception and its line when the code raised', () => {
    const exit = exitFrame({
      exit_code: 1,
      result: {
        duration_ms: 1,
        variables_after: null,
        variables_omitted: 0,
        figures: null,
        figures_omitted: 0,
        profile: null,
        exceptions: [
          {
            type: 'ZeroDivisionError',
            message: 'division by zero',
            line: 3,
            frames: [],
            frames_omitted: 0,
            cause: null,
            cause_relation: null,
          },
        ],
      },
    });
    expect(judgeOutcome(outcome({ exit }), context)).toEqual({
      status: 'failed',
      error: 'ZeroDivisionError: division by zero (line 3)',
      exitCode: 1,
    });
  });

  it('reports a non-zero exit code with the code', () => {
    const verdict = judgeOutcome(outcome({ exit: exitFrame({ exit_code: 3 }) }), context);
    expect(verdict).toEqual({
      status: 'failed',
      error: 'The process exited with code 3.',
      exitCode: 3,
    });
  });

  it('calls a deadline kill a timeout, whoever enforced it', () => {
    expect(judgeOutcome(outcome({ stopReason: 'timeout', exit: null }), context).status).toBe(
      'timeout',
    );
    const harnessKill = exitFrame({ exit_code: null, signal: 9, harness_timeout: true });
    const verdict = judgeOutcome(outcome({ exit: harnessKill }), context);
    expect(verdict.status).toBe('timeout');
    expect(verdict.error).toContain('5 s');
  });

  it('names the memory limit when the job was OOM-killed', () => {
    const killed = exitFrame({ exit_code: null, signal: 9, result: null });
    const verdict = judgeOutcome(outcome({ oomKilled: true, exit: killed }), context);
    expect(verdict).toEqual({
      status: 'failed',
      error: expect.stringContaining('256 MiB') as string,
      exitCode: 137,
    });
  });

  it('puts a cancel before everything else', () => {
    const verdict = judgeOutcome(outcome({ stopReason: 'aborted', oomKilled: true }), context);
    expect(verdict.status).toBe('cancelled');
  });

  it('explains a sandbox that died without reporting', () => {
    const verdict = judgeOutcome(
      outcome({ exit: null, containerExitCode: 139, diagnostics: 'Fatal Python error' }),
      context,
    );
    expect(verdict).toEqual({
      status: 'failed',
      error: expect.stringContaining('container exit code 139') as string,
      exitCode: 139,
    });
    expect(verdict.error).toContain('Fatal Python error');
  });
});
