import { HarnessExit } from './harness/harness-protocol';
import { CollectedFrames } from './harness-frame-collector';
import {
  abortedBeforeStartOutcome,
  answersAtExitFrame,
  containerAtExitFrame,
  isFinal,
  runOutcomeOf,
} from './run-outcome';

const EXIT: HarnessExit = {
  exit_code: 0,
  signal: null,
  harness_timeout: false,
  max_rss_kb: 9000,
  cpu_time_ms: 12.5,
  stdout_bytes: 3,
  stderr_bytes: 0,
  result: null,
  result_error: null,
  output_files: null,
};
/** The worker killed by SIGKILL from outside the harness: perhaps the OOM killer. */
const KILLED: HarnessExit = { ...EXIT, exit_code: null, signal: 9 };

const FRAMES: CollectedFrames = {
  exit: EXIT,
  truncated: { stdout: true, stderr: false },
  harnessError: null,
  outputFiles: null,
  figures: null,
  diagnostics: 'a warning',
};

describe('isFinal', () => {
  it('takes a frame as final unless a SIGKILL the harness did not send ended the worker', () => {
    expect(isFinal(EXIT)).toBe(true);
    expect(isFinal({ ...EXIT, exit_code: null, signal: 15 })).toBe(true);
    expect(isFinal({ ...KILLED, harness_timeout: true })).toBe(true);
    expect(isFinal(KILLED)).toBe(false);
  });
});

describe('answersAtExitFrame', () => {
  it('answers at a final exit frame that came first, while nothing stopped the container', () => {
    expect(answersAtExitFrame('frame', EXIT, 'exited')).toBe(true);
  });

  it('waits for the container when the stream ended first, even with a frame by now', () => {
    expect(answersAtExitFrame('ended', EXIT, 'exited')).toBe(false);
    expect(answersAtExitFrame('ended', null, 'exited')).toBe(false);
  });

  it('waits for the container after a SIGKILL that may have been the OOM killer', () => {
    expect(answersAtExitFrame('frame', KILLED, 'exited')).toBe(false);
  });

  it('waits for the container once it was stopped', () => {
    expect(answersAtExitFrame('frame', EXIT, 'aborted')).toBe(false);
    expect(answersAtExitFrame('frame', EXIT, 'timeout')).toBe(false);
  });
});

describe('runOutcomeOf', () => {
  const acquiredAt = Date.parse('2030-01-01T00:00:00.000Z');
  const startedAt = new Date('2030-01-01T00:00:00.250Z');
  const endedAt = new Date('2030-01-01T00:00:01.000Z');

  it('puts the frames and the container end together, and times the run', () => {
    expect(
      runOutcomeOf({
        containerId: 'c1',
        acquiredAt,
        startedAt,
        endedAt,
        stopReason: 'timeout',
        frames: { ...FRAMES, exit: null, harnessError: 'worker lost' },
        container: { imageId: 'sha256:1', containerExitCode: 137, oomKilled: true },
      }),
    ).toEqual({
      containerId: 'c1',
      imageId: 'sha256:1',
      startedAt,
      endedAt,
      stopReason: 'timeout',
      containerExitCode: 137,
      oomKilled: true,
      exit: null,
      truncated: { stdout: true, stderr: false },
      harnessError: 'worker lost',
      outputFiles: null,
      figures: null,
      diagnostics: 'a warning',
      timings: { containerStartMs: 250, runMs: 750 },
    });
  });

  it('carries the output files the frames brought', () => {
    const outputFiles = {
      files: [{ path: 'a.txt', data: Buffer.from('a') }],
      omitted: [{ path: 'big.bin', size: 9 }],
      omittedCount: 1,
    };
    const outcome = runOutcomeOf({
      containerId: 'c1',
      acquiredAt,
      startedAt,
      endedAt,
      stopReason: 'exited',
      frames: { ...FRAMES, outputFiles },
      container: containerAtExitFrame(null),
    });
    expect(outcome.outputFiles).toBe(outputFiles);
  });

  it('answers at the exit frame with no exit code and no OOM kill yet', () => {
    const outcome = runOutcomeOf({
      containerId: 'c1',
      acquiredAt,
      startedAt,
      endedAt,
      stopReason: 'exited',
      frames: FRAMES,
      container: containerAtExitFrame(null),
    });
    expect(outcome).toMatchObject({
      imageId: null,
      containerExitCode: null,
      oomKilled: false,
      stopReason: 'exited',
      exit: EXIT,
    });
  });
});

describe('abortedBeforeStartOutcome', () => {
  it('reports a run that never started: no time run, nothing from the harness', () => {
    const now = new Date('2030-01-01T00:00:00.400Z');
    expect(abortedBeforeStartOutcome('c1', Date.parse('2030-01-01T00:00:00.000Z'), now)).toEqual({
      containerId: 'c1',
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
      timings: { containerStartMs: 400, runMs: 0 },
    });
  });
});
