/**
 * DockerodeRunner.runBatch against the Docker engine on this machine (DOCKER_HOST, or the
 * local socket) and the runtime image (SANDBOX_IMAGE, or the service's default tag):
 * many items of one code in one container, each failing alone (PROTOCOL.md, "Batches").
 */
import {
  type BatchRunListener,
  type ContainerLimits,
  DockerodeRunner,
  type ItemOutcome,
  type RunListener,
  type SandboxBatchItem,
  type SandboxBatchJob,
  type SandboxJob,
} from '@brain-net/runner';

const IMAGE = process.env.SANDBOX_IMAGE ?? 'brain-net-sandbox-runtime:3.11';

const LIMITS: ContainerLimits = {
  memoryBytes: 256 * 1024 * 1024,
  cpus: 1,
  pids: 64,
  tmpfsBytes: 64 * 1024 * 1024,
  openFiles: 256,
  fileSizeBytes: 32 * 1024 * 1024,
  user: '10001:10001',
};

const PAYLOAD: SandboxJob['payload'] = {
  code: 'print(input_data)',
  debug_mode: false,
  max_output_bytes: 64 * 1024,
  time_limit_s: 10,
  filename: 'main.py',
};

function item(index: number, overrides: Partial<SandboxJob['payload']> = {}): SandboxBatchItem {
  return {
    itemId: `item-${index}`,
    payload: { ...PAYLOAD, ...overrides },
    inputJson: JSON.stringify({ n: index }),
  };
}

function batch(items: SandboxBatchItem[], parallelism = 1): SandboxBatchJob {
  return {
    jobId: `runner-batch-${Math.random().toString(36).slice(2)}`,
    image: IMAGE,
    limits: LIMITS,
    timeoutMs: 60_000,
    parallelism,
    items,
  };
}

/** A listener that keeps what it is told: each item's output and outcome. */
function recorder() {
  const output = new Map<string, string>();
  const finished: ItemOutcome[] = [];
  const started: string[] = [];
  const listener: BatchRunListener = {
    onStarted: () => undefined,
    onItemStarted: (itemId) => started.push(itemId),
    onItemOutput: (itemId, stream, data) => {
      if (stream === 'stdout') output.set(itemId, (output.get(itemId) ?? '') + data);
    },
    onItemFinished: (_itemId, outcome) => finished.push(outcome),
  };
  return { listener, output, finished, started };
}

describe('DockerodeRunner.runBatch with a real engine', () => {
  const runner = new DockerodeRunner({
    dockerHost: process.env.DOCKER_HOST,
    instanceId: `runner-batch-${process.pid}`,
    warmPool: null,
  });

  beforeAll(async () => {
    await runner.ping();
    if (!(await runner.findImage(IMAGE))) throw new Error(`the engine has no image ${IMAGE}`);
  });

  afterAll(async () => {
    await runner.close();
    await runner.removeLeftovers();
  });

  it('runs 20 items in one container and answers 20 results, in order', async () => {
    const { listener, output, finished } = recorder();
    const items = Array.from({ length: 20 }, (_, index) => item(index));

    const started = Date.now();
    const outcome = await runner.runBatch(batch(items), listener, new AbortController().signal);
    const batchMs = Date.now() - started;

    expect(outcome).toMatchObject({ completed: true, stopReason: 'exited', harnessError: null });
    expect(
      outcome.items.map((result) => [result.itemId, result.ending, result.exit?.exit_code]),
    ).toEqual(items.map((_, index) => [`item-${index}`, 'exited', 0]));
    expect(items.map((_, index) => output.get(`item-${index}`))).toEqual(
      items.map((_, index) => `{'n': ${index}}\n`),
    );
    expect(finished).toHaveLength(20);
    console.log(
      `20 items in one container: ${batchMs} ms, ${(batchMs / 20).toFixed(1)} ms per item`,
    );

    // The same 20, a container each, one after the other: what a batch saves.
    const runListener: RunListener = { onStarted: () => undefined, onOutput: () => undefined };
    const separateStarted = Date.now();
    for (const [index, one] of items.entries()) {
      const single: SandboxJob = {
        jobId: `runner-batch-single-${index}`,
        image: IMAGE,
        payload: one.payload,
        inputJson: one.inputJson,
        limits: LIMITS,
        timeoutMs: 30_000,
      };
      const run = await runner.run(single, runListener, new AbortController().signal);
      expect(run.exit?.exit_code).toBe(0);
    }
    const separateMs = Date.now() - separateStarted;
    console.log(
      `20 items, a container each: ${separateMs} ms, ${(separateMs / 20).toFixed(1)} ms per item`,
    );
  });

  it('fails an item that exhausts the memory and one that hangs, alone, and leaves no container', async () => {
    const { listener, output } = recorder();
    const items = [
      item(0),
      item(1, { code: 'x = b"x" * (400 * 1024 * 1024)\nprint("allocated")' }),
      item(2),
      item(3, { code: 'import time\ntime.sleep(60)', time_limit_s: 1 }),
      item(4, {
        code: [
          'import os',
          'print(sorted(os.listdir(".")), "x" in globals())',
          'x = 1',
          'open("left.txt", "w").write("mine")',
        ].join('\n'),
      }),
      item(5, {
        code: [
          'import os',
          'print(sorted(os.listdir(".")), "x" in globals())',
          'os.makedirs("out")',
          'open("out/r.txt", "w").write(str(input_data))',
        ].join('\n'),
        output_files: { max_count: 2, max_bytes: 1024 },
      }),
    ];

    const outcome = await runner.runBatch(batch(items, 2), listener, new AbortController().signal);

    expect(outcome).toMatchObject({ completed: true, stopReason: 'exited', oomKilled: false });
    const [ok0, oom, ok2, hung, first, second] = outcome.items;
    expect(oom).toMatchObject({
      ending: 'exited',
      oomKilled: true,
      exit: { signal: 9, harness_timeout: false },
    });
    expect(hung).toMatchObject({
      ending: 'exited',
      oomKilled: false,
      exit: { signal: 9, harness_timeout: true },
    });
    for (const fine of [ok0, ok2, first, second]) {
      expect(fine).toMatchObject({ ending: 'exited', oomKilled: false, exit: { exit_code: 0 } });
    }
    expect(output.get('item-1')).toBeUndefined();
    // Each item starts in a fresh directory, with fresh globals.
    expect(output.get('item-4')).toBe("['main.py'] False\n");
    expect(output.get('item-5')).toBe("['main.py'] False\n");
    expect(second.outputFiles?.files).toEqual([{ path: 'r.txt', data: Buffer.from("{'n': 5}") }]);

    // Removed off the answer's path: gone once the removals settle.
    await runner.close();
    expect(await runner.countOwnContainers()).toBe(0);
  });
});
