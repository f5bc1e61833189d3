import {
  batchAbortedBeforeStartOutcome,
  batchOutcomeOf,
  itemOutcomeOf,
  unfinishedEnding,
} from './batch-outcome';
import type { SandboxBatchItem } from './docker-runner';
import { batchPayloadText } from './job-payload';
import { harnessExit } from './testing/scripted-runner';

const ITEM = {
  itemId: 'a',
  index: 0,
  startedAt: new Date(1_000),
  truncated: { stdout: true, stderr: false },
};

function batchItem(
  itemId: string,
  inputJson: string,
  files: SandboxBatchItem['files'] = [],
): SandboxBatchItem {
  return {
    itemId,
    payload: {
      code: 'print(1)',
      debug_mode: false,
      max_output_bytes: 10,
      time_limit_s: 1,
      filename: 'main.py',
    },
    inputJson,
    files,
  };
}

describe('itemOutcomeOf', () => {
  it('takes an item killed by SIGKILL other than by the harness’s deadline as OOM-killed', () => {
    const end = {
      ending: 'exited' as const,
      harnessError: null,
      outputFiles: null,
      figures: null,
      endedAt: new Date(2_000),
    };

    expect(
      itemOutcomeOf(ITEM, { ...end, exit: harnessExit({ exit_code: null, signal: 9 }) }).oomKilled,
    ).toBe(true);
    expect(
      itemOutcomeOf(ITEM, {
        ...end,
        exit: harnessExit({ exit_code: null, signal: 9, harness_timeout: true }),
      }).oomKilled,
    ).toBe(false);
    expect(
      itemOutcomeOf(ITEM, { ...end, exit: harnessExit({ exit_code: null, signal: 15 }) }).oomKilled,
    ).toBe(false);
    expect(itemOutcomeOf(ITEM, { ...end, ending: 'lost', exit: null })).toMatchObject({
      oomKilled: false,
      ending: 'lost',
      truncated: { stdout: true, stderr: false },
      startedAt: new Date(1_000),
      endedAt: new Date(2_000),
    });
  });
});

describe('unfinishedEnding', () => {
  it('is the stop reason, or lost when nothing stopped the container', () => {
    expect(unfinishedEnding('aborted')).toBe('aborted');
    expect(unfinishedEnding('timeout')).toBe('timeout');
    expect(unfinishedEnding('exited')).toBe('lost');
  });
});

describe('batchOutcomeOf', () => {
  it('times the batch from its container’s acquisition', () => {
    const outcome = batchOutcomeOf({
      containerId: 'c1',
      acquiredAt: 500,
      startedAt: new Date(1_000),
      endedAt: new Date(4_000),
      stopReason: 'exited',
      container: { imageId: 'sha256:x', containerExitCode: null, oomKilled: false },
      completed: true,
      harnessError: null,
      diagnostics: '',
      items: [],
    });

    expect(outcome).toMatchObject({
      containerId: 'c1',
      imageId: 'sha256:x',
      completed: true,
      timings: { containerStartMs: 500, runMs: 3_000 },
    });
  });

  it('reports every item of a batch aborted before its start as aborted, never started', () => {
    const outcome = batchAbortedBeforeStartOutcome(
      'c1',
      [batchItem('a', '1'), batchItem('b', '2')],
      0,
      new Date(10),
    );

    expect(outcome.stopReason).toBe('aborted');
    expect(
      outcome.items.map((item) => [item.itemId, item.index, item.ending, item.startedAt]),
    ).toEqual([
      ['a', 0, 'aborted', null],
      ['b', 1, 'aborted', null],
    ]);
  });
});

describe('batchPayloadText', () => {
  it('is the batch and each item’s payload, input_data spliced in raw, files announced', () => {
    const file = { path: 'data/x.csv', size: 3, open: () => Promise.reject(new Error('unused')) };
    const text = batchPayloadText({
      parallelism: 2,
      items: [batchItem('a', '{"big": 1e400}'), batchItem('b', '[1,2]', [file])],
    });

    expect(text).toContain('"input_data":{"big": 1e400}');
    const parsed = JSON.parse(text) as { batch: unknown; items: Record<string, unknown>[] };
    expect(parsed.batch).toEqual({ parallelism: 2 });
    expect(parsed.items).toHaveLength(2);
    expect(parsed.items[0]).not.toHaveProperty('files');
    expect(parsed.items[1]).toMatchObject({
      input_data: [1, 2],
      files: [{ path: 'data/x.csv', size: 3 }],
    });
  });
});
