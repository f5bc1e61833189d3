import type { BatchRunListener, ItemOutcome, SandboxBatchJob } from '../docker-runner';
import { ScriptedRunner } from './scripted-runner';

function batch(size: number): SandboxBatchJob {
  return {
    jobId: 'b1',
    image: 'image',
    limits: {
      memoryBytes: 1,
      cpus: 1,
      pids: 1,
      tmpfsBytes: 1,
      openFiles: 1,
      fileSizeBytes: 1,
      user: '1:1',
    },
    timeoutMs: 1_000,
    parallelism: 1,
    items: Array.from({ length: size }, (_, index) => ({
      itemId: `i${index}`,
      payload: {
        code: 'print(1)',
        debug_mode: false,
        max_output_bytes: 10,
        time_limit_s: 1,
        filename: 'main.py',
      },
      inputJson: String(index),
    })),
  };
}

function recorder() {
  const calls: string[] = [];
  const finished: ItemOutcome[] = [];
  const listener: BatchRunListener = {
    onStarted: () => calls.push('started'),
    onItemStarted: (itemId) => calls.push(`start ${itemId}`),
    onItemOutput: (itemId, _stream, data) => calls.push(`output ${itemId} ${data}`),
    onItemFinished: (itemId, outcome) => {
      calls.push(`finished ${itemId}`);
      finished.push(outcome);
    },
  };
  return { calls, finished, listener };
}

describe('ScriptedRunner.runBatch', () => {
  it('plays each item’s script in order, and records the batch', async () => {
    const runner = new ScriptedRunner();
    runner.batchScript = {
      items: (_item, index) =>
        index === 1
          ? { exit: { exit_code: null, signal: 9 } }
          : { output: [{ stream: 'stdout', data: `${index}\n` }] },
    };
    const { calls, listener } = recorder();

    const outcome = await runner.runBatch(batch(2), listener, new AbortController().signal);

    expect(calls).toEqual([
      'started',
      'start i0',
      'output i0 0\n',
      'finished i0',
      'start i1',
      'finished i1',
    ]);
    expect(outcome.items.map((item) => [item.ending, item.oomKilled])).toEqual([
      ['exited', false],
      ['exited', true],
    ]);
    expect(outcome.completed).toBe(true);
    expect(runner.batches).toHaveLength(1);
  });

  it('reports every item aborted when the batch is cancelled while held', async () => {
    const runner = new ScriptedRunner();
    let release!: () => void;
    runner.batchScript = { hold: { promise: new Promise<void>((resolve) => (release = resolve)) } };
    const { finished, listener } = recorder();
    const controller = new AbortController();

    const running = runner.runBatch(batch(2), listener, controller.signal);
    controller.abort();
    const outcome = await running;
    release();

    expect(outcome.stopReason).toBe('aborted');
    expect(finished.map((item) => item.ending)).toEqual(['aborted', 'aborted']);
  });
});
