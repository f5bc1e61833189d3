import { PassThrough } from 'node:stream';
import { BatchFrameCollector } from './batch-frame-collector';
import type { ItemOutcome, SandboxBatchItem } from './docker-runner';
import { HarnessExit, OutputFilesRequest, OutputStream } from './harness/harness-protocol';

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

function item(itemId: string, outputFiles: OutputFilesRequest | null = null): SandboxBatchItem {
  return {
    itemId,
    payload: {
      code: 'print(1)',
      debug_mode: false,
      max_output_bytes: 1024,
      time_limit_s: 1,
      filename: 'main.py',
      output_files: outputFiles,
    },
    inputJson: 'null',
  };
}

/** A collector following two fed streams for a batch of these items, recording the listener's calls. */
function collectorFed(items: readonly SandboxBatchItem[]) {
  const harnessChannel = new PassThrough();
  const strayChannel = new PassThrough();
  const calls: string[] = [];
  const output: { itemId: string; stream: OutputStream; data: string }[] = [];
  const finished: ItemOutcome[] = [];
  const collector = new BatchFrameCollector(harnessChannel, strayChannel, items, {
    onItemStarted: (itemId) => calls.push(`started ${itemId}`),
    onItemOutput: (itemId, stream, data) => {
      calls.push(`output ${itemId}`);
      output.push({ itemId, stream, data });
    },
    onItemFinished: (itemId, outcome) => {
      calls.push(`finished ${itemId}`);
      finished.push(outcome);
    },
  });
  const send = async (...frames: object[]) => {
    harnessChannel.write(frames.map(frameLine).join(''));
    await delivered();
  };
  return { collector, harnessChannel, strayChannel, calls, output, finished, send };
}

describe('BatchFrameCollector', () => {
  it('routes each frame to its item, and tells the listener as items start, print and end', async () => {
    const { collector, calls, output, finished, send } = collectorFed([item('a'), item('b')]);

    await send(
      { type: 'item_start', item: 0 },
      { type: 'item_start', item: 1 },
      { type: 'stdout', data: 'from b', item: 1 },
      { type: 'stderr', data: 'from a', item: 0 },
      { type: 'truncated', stream: 'stderr', item: 0 },
      { type: 'item_exit', ...EXIT, item: 1 },
      { type: 'item_exit', ...EXIT, exit_code: 1, item: 0 },
    );

    expect(calls).toEqual([
      'started a',
      'started b',
      'output b',
      'output a',
      'finished b',
      'finished a',
    ]);
    expect(output).toEqual([
      { itemId: 'b', stream: 'stdout', data: 'from b' },
      { itemId: 'a', stream: 'stderr', data: 'from a' },
    ]);
    const [b, a] = finished;
    expect(a).toMatchObject({
      itemId: 'a',
      index: 0,
      ending: 'exited',
      exit: { ...EXIT, exit_code: 1 },
      truncated: { stdout: false, stderr: true },
      oomKilled: false,
    });
    // The exit is a job's exit frame: no type, no item index.
    expect(b.exit).toEqual(EXIT);
    expect(b.startedAt).toBeInstanceOf(Date);
    expect(collector.completed).toBe(false);
  });

  it('settles at the batch_exit frame', async () => {
    const { collector, send } = collectorFed([item('a')]);
    let settled = false;
    void collector.batchExitArrived.then(() => (settled = true));

    await send({ type: 'item_start', item: 0 }, { type: 'item_exit', ...EXIT, item: 0 });
    expect(settled).toBe(false);
    await send({ type: 'batch_exit', items: 1 });

    expect(settled).toBe(true);
    expect(collector.collected()).toEqual({ completed: true, harnessError: null, diagnostics: '' });
  });

  it('reports SIGKILL without the harness timeout as an OOM kill, with the timeout as none', async () => {
    const { finished, send } = collectorFed([item('oom'), item('slow')]);

    await send(
      { type: 'item_exit', ...EXIT, exit_code: null, signal: 9, item: 0 },
      { type: 'item_exit', ...EXIT, exit_code: null, signal: 9, harness_timeout: true, item: 1 },
    );

    expect(finished.map((outcome) => [outcome.itemId, outcome.oomKilled])).toEqual([
      ['oom', true],
      ['slow', false],
    ]);
  });

  it('puts each item’s output files together within its own budget', async () => {
    const { finished, send } = collectorFed([
      item('a', { max_count: 1, max_bytes: 100 }),
      item('b', { max_count: 1, max_bytes: 2 }),
    ]);

    await send(
      { type: 'file', path: 'x.txt', size: 3, item: 0 },
      { type: 'file', path: 'y.txt', size: 3, item: 1 },
      { type: 'file_data', data: Buffer.from('yyy').toString('base64'), item: 1 },
      { type: 'file_data', data: Buffer.from('xxx').toString('base64'), item: 0 },
      {
        type: 'item_exit',
        ...EXIT,
        output_files: { sent: 1, omitted: [], omitted_count: 0 },
        item: 0,
      },
      {
        type: 'item_exit',
        ...EXIT,
        output_files: { sent: 1, omitted: [], omitted_count: 0 },
        item: 1,
      },
    );

    expect(finished[0].outputFiles).toEqual({
      files: [{ path: 'x.txt', data: Buffer.from('xxx') }],
      omitted: [],
      omittedCount: 0,
    });
    // Over b's own budget: omitted here, whatever the harness said.
    expect(finished[1].outputFiles).toEqual({
      files: [],
      omitted: [{ path: 'y.txt', size: 3 }],
      omittedCount: 1,
    });
  });

  it('ends an item the harness could not run with its harness error; keeps the batch’s apart', async () => {
    const { collector, finished, send } = collectorFed([item('a'), item('b')]);

    await send(
      { type: 'harness_error', message: "input file 'x': [Errno 28] No space left", item: 0 },
      { type: 'harness_error', message: 'input file ended early' },
    );

    expect(finished).toEqual([
      expect.objectContaining({
        itemId: 'a',
        ending: 'harness_error',
        exit: null,
        startedAt: null,
        harnessError: "input file 'x': [Errno 28] No space left",
      }),
    ]);
    expect(collector.collected().harnessError).toBe('input file ended early');
  });

  it('turns a malformed item_exit into that item’s harness error', async () => {
    const { finished, send } = collectorFed([item('a')]);

    await send({ type: 'item_exit', ...EXIT, exit_code: 'zero', item: 0 });

    expect(finished[0]).toMatchObject({
      ending: 'harness_error',
      harnessError:
        'malformed item_exit frame: exit_code: Invalid input: expected number, received string',
    });
  });

  it('rejects frames for items the batch does not have, or that already ended, and untagged output', async () => {
    const { collector, calls, send } = collectorFed([item('a')]);

    await send(
      { type: 'item_exit', ...EXIT, item: 0 },
      { type: 'stdout', data: 'late', item: 0 },
      { type: 'item_start', item: 7 },
      { type: 'stdout', data: 'untagged' },
    );

    expect(calls).toEqual(['finished a']);
    expect(collector.collected().diagnostics).toBe(
      '1 lines on the harness channel were not frames:\n' +
        'line 4: malformed stdout frame: item: Invalid input: expected number, received undefined\n' +
        '2 item frames were rejected:\n' +
        'a stdout frame for item 0 after its end\n' +
        'a item_start frame for item 7, not in the batch\n',
    );
  });

  it('ends the items that never ended as the batch stopped, once, and tells the listener', async () => {
    const { collector, calls, send } = collectorFed([item('a'), item('b'), item('c')]);

    await send(
      { type: 'item_start', item: 0 },
      { type: 'item_exit', ...EXIT, item: 0 },
      { type: 'item_start', item: 1 },
    );
    const outcomes = collector.finish('aborted');

    expect(outcomes.map((outcome) => [outcome.itemId, outcome.ending])).toEqual([
      ['a', 'exited'],
      ['b', 'aborted'],
      ['c', 'aborted'],
    ]);
    expect(outcomes[1].startedAt).toBeInstanceOf(Date);
    expect(outcomes[2].startedAt).toBeNull();
    expect(calls.filter((call) => call.startsWith('finished'))).toEqual([
      'finished a',
      'finished b',
      'finished c',
    ]);
  });

  it('keeps what the container wrote outside the protocol', async () => {
    const { collector, strayChannel } = collectorFed([item('a')]);

    strayChannel.write('Fatal Python error');
    await delivered();

    expect(collector.collected().diagnostics).toBe('Fatal Python error');
  });
});
