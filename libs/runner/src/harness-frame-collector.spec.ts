import { PassThrough } from 'node:stream';
import { HarnessFrameCollector, MAX_DIAGNOSTICS_BYTES } from './harness-frame-collector';
import {
  FiguresRequest,
  HarnessExit,
  OutputFilesRequest,
  OutputStream,
} from './harness/harness-protocol';

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

const frameLine = (frame: object): string => `${JSON.stringify(frame)}\n`;

/** Lets the streams deliver what was written to them. */
const delivered = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A collector following two fed streams, as a container's demultiplexed stdout and stderr,
 * for a job that asked for `outputFiles` (none by default).
 */
function collectorFed(
  outputFiles: OutputFilesRequest | null = null,
  figures: FiguresRequest | null = null,
) {
  const harnessChannel = new PassThrough();
  const strayChannel = new PassThrough();
  const output: { stream: OutputStream; data: string }[] = [];
  const collector = new HarnessFrameCollector(
    harnessChannel,
    strayChannel,
    (stream, data) => output.push({ stream, data }),
    { outputFiles, figures },
  );
  return { collector, harnessChannel, strayChannel, output };
}

describe('HarnessFrameCollector', () => {
  it('hands the job output on as it arrives, in order', async () => {
    const { collector, harnessChannel, output } = collectorFed();
    harnessChannel.write(frameLine({ type: 'stdout', data: 'a' }));
    await delivered();
    expect(output).toEqual([{ stream: 'stdout', data: 'a' }]);

    harnessChannel.write(
      frameLine({ type: 'stderr', data: 'b' }) + frameLine({ type: 'stdout', data: 'c' }),
    );
    await delivered();
    expect(output).toEqual([
      { stream: 'stdout', data: 'a' },
      { stream: 'stderr', data: 'b' },
      { stream: 'stdout', data: 'c' },
    ]);
    expect(collector.collected()).toEqual({
      exit: null,
      truncated: { stdout: false, stderr: false },
      harnessError: null,
      outputFiles: null,
      figures: null,
      diagnostics: '',
    });
  });

  it('keeps the exit frame, and settles exitArrived at it, even split across chunks', async () => {
    const { collector, harnessChannel } = collectorFed();
    let arrived = false;
    void collector.exitArrived.then(() => (arrived = true));
    const line = frameLine({ type: 'exit', ...EXIT });
    harnessChannel.write(line.slice(0, 20));
    await delivered();
    expect(arrived).toBe(false);
    expect(collector.exit).toBeNull();

    harnessChannel.write(line.slice(20));
    await delivered();
    expect(arrived).toBe(true);
    expect(collector.exit).toEqual({ type: 'exit', ...EXIT });
    expect(collector.collected().exit).toEqual({ type: 'exit', ...EXIT });
  });

  it('keeps the latest exit frame when the harness sends more than one', async () => {
    const { collector, harnessChannel } = collectorFed();
    harnessChannel.write(frameLine({ type: 'exit', ...EXIT }));
    harnessChannel.write(frameLine({ type: 'exit', ...EXIT, exit_code: 3 }));
    await delivered();
    expect(collector.exit?.exit_code).toBe(3);
  });

  it('records truncation per stream and the harness error', async () => {
    const { collector, harnessChannel } = collectorFed();
    harnessChannel.write(
      frameLine({ type: 'truncated', stream: 'stderr' }) +
        frameLine({ type: 'harness_error', message: 'worker lost' }),
    );
    await delivered();
    expect(collector.collected()).toMatchObject({
      truncated: { stdout: false, stderr: true },
      harnessError: 'worker lost',
    });
  });

  it('reports a malformed exit frame as a harness error, and no exit', async () => {
    const { collector, harnessChannel } = collectorFed();
    let arrived = false;
    void collector.exitArrived.then(() => (arrived = true));
    harnessChannel.write(frameLine({ type: 'exit', exit_code: 'zero' }));
    await delivered();
    expect(arrived).toBe(false);
    expect(collector.exit).toBeNull();
    expect(collector.collected().harnessError).toMatch(/^malformed exit frame: /);
  });

  it('keeps what the container wrote on stderr as diagnostics, up to its cap', async () => {
    const { collector, strayChannel } = collectorFed();
    strayChannel.write('Fatal Python error\n');
    await delivered();
    expect(collector.collected().diagnostics).toBe('Fatal Python error\n');

    strayChannel.write('x'.repeat(MAX_DIAGNOSTICS_BYTES));
    strayChannel.write('never kept');
    await delivered();
    const { diagnostics } = collector.collected();
    expect(diagnostics).toHaveLength(MAX_DIAGNOSTICS_BYTES);
    expect(diagnostics.startsWith('Fatal Python error\nxxx')).toBe(true);
  });

  it('puts the lines on the harness channel that were not frames ahead of stderr', async () => {
    const { collector, harnessChannel, strayChannel, output } = collectorFed();
    harnessChannel.write('print from a bypassed harness\n');
    harnessChannel.write(frameLine({ type: 'stdout', data: 'ok' }));
    strayChannel.write('Traceback');
    await delivered();
    expect(output).toEqual([{ stream: 'stdout', data: 'ok' }]);
    expect(collector.collected().diagnostics).toBe(
      '1 lines on the harness channel were not frames:\nline 1: not JSON\nTraceback',
    );
  });

  it('collects the output files, and gives them with the exit frame only', async () => {
    const { collector, harnessChannel } = collectorFed({ max_count: 5, max_bytes: 100 });
    const summary = { sent: 1, omitted: [{ path: 'big.bin', size: 500 }], omitted_count: 1 };
    harnessChannel.write(
      frameLine({ type: 'file', path: 'out.txt', size: 5 }) +
        frameLine({ type: 'file_data', data: Buffer.from('hello').toString('base64') }),
    );
    await delivered();
    expect(collector.collected().outputFiles).toBeNull();

    harnessChannel.write(frameLine({ type: 'exit', ...EXIT, output_files: summary }));
    await delivered();
    expect(collector.collected().outputFiles).toEqual({
      files: [{ path: 'out.txt', data: Buffer.from('hello') }],
      omitted: [{ path: 'big.bin', size: 500 }],
      omittedCount: 1,
    });
  });

  it('tells of file frames that did not add up to files in the diagnostics', async () => {
    const { collector, harnessChannel } = collectorFed({ max_count: 5, max_bytes: 100 });
    harnessChannel.write(
      frameLine({ type: 'file_data', data: 'AAAA' }) +
        frameLine({ type: 'file', path: 'short', size: 9 }) +
        frameLine({
          type: 'exit',
          ...EXIT,
          output_files: { sent: 1, omitted: [], omitted_count: 0 },
        }),
    );
    await delivered();
    expect(collector.collected()).toMatchObject({
      outputFiles: { files: [], omitted: [], omittedCount: 0 },
      diagnostics:
        '2 file frames were rejected:\nfile data without a file before it\n' +
        'a file ended after 0 of the 9 bytes announced\n',
    });
  });

  it('collects a figure after the output files, and joins it to the result that describes it', async () => {
    const budget = { max_count: 5, max_bytes: 1000 };
    const { collector, harnessChannel } = collectorFed(budget, { ...budget, max_pixels: 100 });
    const png = Buffer.concat([
      Buffer.from('89504e470d0a1a0a0000000d49484452000000020000000300', 'hex'),
      Buffer.alloc(8),
    ]);
    const result = {
      duration_ms: 1,
      exceptions: [],
      variables_after: null,
      variables_omitted: 0,
      figures: [{ index: 0, title: 'sine', error: null }],
      figures_omitted: 0,
      profile: null,
    };
    harnessChannel.write(
      frameLine({ type: 'file', path: 'a.txt', size: 1 }) +
        frameLine({ type: 'file_data', data: Buffer.from('a').toString('base64') }) +
        frameLine({ type: 'figure', index: 0, size: png.length }) +
        frameLine({ type: 'file_data', data: png.toString('base64') }) +
        frameLine({
          type: 'exit',
          ...EXIT,
          result,
          output_files: { sent: 1, omitted: [], omitted_count: 0 },
        }),
    );
    await delivered();
    expect(collector.collected()).toMatchObject({
      outputFiles: { files: [{ path: 'a.txt', data: Buffer.from('a') }] },
      figures: {
        figures: [
          { index: 0, title: 'sine', png: { data: png, width: 2, height: 3 }, error: null },
        ],
        omittedCount: 0,
      },
      diagnostics: '',
    });
  });
});
