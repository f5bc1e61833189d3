import { setImmediate as nextTurn } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { EngineUnavailableError } from '@brain-net/runner';
import { Deferred, ScriptedRunner } from '@brain-net/runner/testing/scripted-runner';
import { FeedEvent, JobHandler, LocalExecutionFeed } from '@brain-net/messaging';
import { ExecutionRecord, ExecutionStatus, isFinished } from '@brain-net/store';
import { InMemoryExecutionStore } from '@brain-net/store/testing/in-memory-execution-store';
import { queuedRecord as newQueuedRecord } from '@brain-net/store/testing/execution-records';
import { AppConfig, loadConfig } from '../config/app-config';
import { EngineStatusService } from './engine-status.service';
import { RuntimeCatalog } from '../runtimes/runtime-catalog';
import { eventsRelayedTo } from './testing/events-relayed-to';
import { inMemoryFiles } from './testing/in-memory-files';
import { runSettingsOf } from './execution-admission';
import { ExecutionLifecycle, UNREAD_JOB_ERROR, WORKER_LOST_ERROR } from './execution-lifecycle';
import { ShutdownCancellation } from './graceful-shutdown';
import { InProcessExecutionQueue } from './in-process-execution-queue';

/** The real in-process queue, keeping what the lifecycle gave it: each job's run, and onLost. */
class WatchedQueue extends InProcessExecutionQueue {
  readonly handled = new Map<string, Promise<void>>();
  /** Runs that rejected: the queue reports them to its owner. */
  readonly taskFailures: unknown[];
  onLost: (executionId: string) => void = () => {
    throw new Error('the lifecycle never called work()');
  };

  constructor(config: AppConfig) {
    const failures: unknown[] = [];
    super(
      { maxRunning: config.maxConcurrentExecutions, maxQueued: config.maxQueuedExecutions },
      (error) => failures.push(error),
    );
    this.taskFailures = failures;
  }

  override work(handler: JobHandler, onLost?: (executionId: string) => void): void {
    if (onLost) this.onLost = onLost;
    super.work((id) => {
      const run = handler(id);
      this.handled.set(id, run);
      return run;
    });
  }
}

/** What the store held at the moment the feed announced something. */
interface Heard {
  readonly event: FeedEvent;
  readonly stored: Promise<ExecutionRecord | undefined>;
}

const CODE = 'print("hi")';
const INPUT = '{"n": 3}';

describe('ExecutionLifecycle', () => {
  let config: AppConfig;
  let files: ReturnType<typeof inMemoryFiles>;
  let runner: ScriptedRunner;
  let store: InMemoryExecutionStore;
  let queue: WatchedQueue;
  let feed: LocalExecutionFeed;
  let lifecycle: ExecutionLifecycle;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(async () => {
    config = loadConfig({
      MAX_CONCURRENT_EXECUTIONS: '1',
      MAX_QUEUED_EXECUTIONS: '2',
      SHUTDOWN_GRACE_MS: '0',
      EXECUTION_TIMEOUT: '30',
    });
    files = inMemoryFiles(config);
    runner = new ScriptedRunner();
    store = new InMemoryExecutionStore();
    queue = new WatchedQueue(config);
    feed = new LocalExecutionFeed();
    const engine = new EngineStatusService(runner, config);
    await engine.check();
    lifecycle = new ExecutionLifecycle(
      config,
      runner,
      store,
      queue,
      feed,
      eventsRelayedTo(feed),
      engine,
      files.inputFiles,
      files.outputFiles,
      new RuntimeCatalog(config, runner),
    );
    lifecycle.start();
    await lifecycle.work();
  });

  /** A queued record as admission stores it, in this spec's tenant and limits. */
  function queuedRecord(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
    return {
      ...newQueuedRecord({
        tenant: 'acme',
        queuedAt: new Date(Date.now() - 5),
        limits: config.limits,
        runSettings: runSettingsOf(config),
      }),
      ...overrides,
    };
  }

  /** Stores a record, listens to its feed, and queues it; `ended` settles at `finished`. */
  async function submitted(overrides: Partial<ExecutionRecord> = {}, code = CODE, stdin?: string) {
    const record = queuedRecord(overrides);
    await store.create(record, {
      code,
      inputJson: INPUT,
      ...(stdin !== undefined && { stdin }),
    });
    const heard: Heard[] = [];
    const ended = new Deferred<ExecutionStatus>();
    await feed.subscribe(record.id, (event) => {
      // The in-memory store copies the record when asked: this is what it held just now.
      // (A store that refuses reads answers undefined here.)
      heard.push({ event, stored: store.get(record.id).catch(() => undefined) });
      if (event.type === 'finished') ended.resolve(event.status);
    });
    await queue.enqueue(record.id, record.tenant);
    return { id: record.id, heard, ended: ended.promise };
  }

  async function stored(id: string): Promise<ExecutionRecord> {
    const record = await store.get(id);
    if (!record) throw new Error(`no record ${id}`);
    return record;
  }

  it('runs a job and records it completed with its output, exit code, timings and usage', async () => {
    runner.defaultScript = {
      output: [
        { stream: 'stdout', data: 'hi\n' },
        { stream: 'stderr', data: 'careful\n' },
      ],
    };
    const { id, ended } = await submitted();
    expect(await ended).toBe('completed');

    const record = await stored(id);
    expect(record).toMatchObject({
      status: 'completed',
      stdout: 'hi\n',
      stderr: 'careful\n',
      exitCode: 0,
      error: null,
      codeMs: 12.5,
      imageId: 'sha256:scripted',
      variablesAfter: {},
      usage: { peakMemoryBytes: 20_480 * 1024, cpuTimeMs: 42 },
    });
    expectDate(record.startedAt);
    expect(record.endedAt!.getTime()).toBeGreaterThanOrEqual(record.startedAt!.getTime());
    expect(record.timings).toEqual({
      queuedMs: expect.any(Number) as number,
      containerStartMs: expect.any(Number) as number,
      runMs: expect.any(Number) as number,
      totalMs: expect.any(Number) as number,
    });
    expect(record.timings!.queuedMs).toBeGreaterThanOrEqual(5);
    expect(record.timings!.totalMs).toBeGreaterThanOrEqual(record.timings!.queuedMs);
    // Finished: no longer running here, and its record is the store's.
    await queue.handled.get(id);
    expect(lifecycle.running).toBe(0);
    expect(lifecycle.live(id)).toBeUndefined();
  });

  it('gives the runner the job the record describes: code, input, image, limits and deadlines', async () => {
    const { ended } = await submitted({ timeoutS: 7, debugMode: false });
    await ended;
    expect(runner.jobs).toHaveLength(1);
    const [job] = runner.jobs;
    expect(job).toMatchObject({
      image: config.sandboxImage,
      limits: config.limits,
      inputJson: INPUT,
      // The harness enforces the job's timeout; the runner's kill is a backstop 5 s later.
      timeoutMs: 12_000,
      payload: {
        code: CODE,
        debug_mode: false,
        time_limit_s: 7,
        max_output_bytes: config.maxOutputBytes,
        filename: 'main.py',
      },
    });
  });

  it('gives the runner the record’s own limits and the input’s stdin; no stdin when it has none', async () => {
    const limits = { ...config.limits, memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 32 };
    const { ended } = await submitted({ limits }, CODE, 'first\nsecond\n');
    await ended;
    const plain = await submitted();
    await plain.ended;

    const [job, plainJob] = runner.jobs;
    expect(job.limits).toEqual(limits);
    expect(job.payload.stdin).toBe('first\nsecond\n');
    expect(plainJob.limits).toEqual(config.limits);
    expect(plainJob.payload).not.toHaveProperty('stdin');
  });

  it('judges the outcome: an exception fails the job, a harness timeout times it out', async () => {
    runner.script('raise', {
      exit: {
        exit_code: 1,
        result: {
          duration_ms: 1,
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
          variables_after: null,
          variables_omitted: 0,
        },
      },
    });
    runner.script('loop', { exit: { harness_timeout: true, exit_code: null, signal: 9 } });
    const raised = await submitted({}, 'raise');
    expect(await raised.ended).toBe('failed');
    expect(await stored(raised.id)).toMatchObject({
      error: 'ZeroDivisionError: division by zero (line 3)',
      exitCode: 1,
    });
    const looped = await submitted({ timeoutS: 2 }, 'loop');
    expect(await looped.ended).toBe('timeout');
    expect(await stored(looped.id)).toMatchObject({
      error: 'The execution exceeded its timeout of 2 s and was killed.',
      exitCode: 137,
    });
  });

  it('announces each status on the feed only once the store has it', async () => {
    runner.defaultScript = { output: [{ stream: 'stdout', data: 'x' }] };
    const { heard, ended } = await submitted();
    await ended;

    const statuses = heard.filter(({ event }) => event.type !== 'output');
    expect(statuses.map(({ event }) => event)).toEqual([
      { type: 'status', status: 'running' },
      { type: 'status', status: 'completed' },
      { type: 'finished', status: 'completed' },
    ]);
    for (const { event, stored: then } of statuses) {
      const expected = event.type === 'status' || event.type === 'finished' ? event.status : null;
      expect((await then)?.status).toBe(expected);
    }
    // At `finished` the stored record is the complete one, output included.
    expect(await statuses[2].stored).toMatchObject({ stdout: 'x', exitCode: 0 });
  });

  it('numbers output events 1, 2, 3... in the order they came, across both streams', async () => {
    runner.defaultScript = {
      output: [
        { stream: 'stdout', data: 'a' },
        { stream: 'stderr', data: 'b' },
        { stream: 'stdout', data: 'c' },
      ],
    };
    const { id, heard, ended } = await submitted();
    await ended;
    expect(heard.map(({ event }) => event).filter((event) => event.type === 'output')).toEqual([
      { type: 'output', stream: 'stdout', data: 'a', seq: 1 },
      { type: 'output', stream: 'stderr', data: 'b', seq: 2 },
      { type: 'output', stream: 'stdout', data: 'c', seq: 3 },
    ]);
    expect(await stored(id)).toMatchObject({ stdout: 'ac', stderr: 'b' });
  });

  it('caps each stream at MAX_OUTPUT_BYTES, marks it truncated, and numbers only what it kept', async () => {
    config = loadConfig({ MAX_OUTPUT_BYTES: '1024' });
    files = inMemoryFiles(config);
    const engine = new EngineStatusService(runner, config);
    await engine.check();
    queue = new WatchedQueue(config);
    lifecycle = new ExecutionLifecycle(
      config,
      runner,
      store,
      queue,
      feed,
      eventsRelayedTo(feed),
      engine,
      files.inputFiles,
      files.outputFiles,
      new RuntimeCatalog(config, runner),
    );
    lifecycle.start();
    await lifecycle.work();
    runner.defaultScript = {
      output: [
        { stream: 'stdout', data: 'a'.repeat(1000) },
        { stream: 'stdout', data: 'b'.repeat(100) },
        { stream: 'stdout', data: 'c' },
        { stream: 'stderr', data: 'e' },
      ],
    };
    const { id, heard, ended } = await submitted();
    await ended;
    const record = await stored(id);
    expect(record.stdout).toBe('a'.repeat(1000) + 'b'.repeat(24));
    expect(record.truncated).toEqual({ stdout: true, stderr: false });
    const outputs = heard.map(({ event }) => event).filter((event) => event.type === 'output');
    expect(outputs.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(outputs.map((event) => event.data.length)).toEqual([1000, 24, 1]);
  });

  it('does not run a job whose record already finished (cancelled while it waited)', async () => {
    const { id } = await submitted({ status: 'cancelled', error: 'cancelled' });
    await queue.handled.get(id);
    expect(runner.jobs).toHaveLength(0);
    expect(await stored(id)).toMatchObject({ status: 'cancelled', error: 'cancelled' });
  });

  it('records an aborted run cancelled, and kills its run', async () => {
    const release = new Deferred();
    runner.defaultScript = { output: [{ stream: 'stdout', data: 'started\n' }], hold: release };
    const { id, ended } = await submitted();
    await runner.whenStarted();
    expect(lifecycle.running).toBe(1);
    expect(lifecycle.live(id)).toMatchObject({ status: 'running', stdout: 'started\n' });

    expect(lifecycle.cancelHere(id)).toBe(true);
    expect(await ended).toBe('cancelled');
    expect(await stored(id)).toMatchObject({
      status: 'cancelled',
      error: 'The execution was cancelled.',
      stdout: 'started\n',
    });
    expect(runner.runs[0]).toMatchObject({ aborted: true, settled: 'rejected' });
    expect(release.isSettled).toBe(false);
    await queue.handled.get(id);
    expect(lifecycle.cancelHere(id)).toBe(false);
  });

  it('records it cancelled as well when the runner answers the abort with an aborted outcome (as DockerodeRunner does)', async () => {
    runner.defaultScript = { hold: new Deferred(), abort: 'outcome' };
    const { id, ended } = await submitted();
    await runner.whenStarted();
    lifecycle.cancelHere(id);
    expect(await ended).toBe('cancelled');
    expect(await stored(id)).toMatchObject({ error: 'The execution was cancelled.' });
    expect(runner.runs[0]).toMatchObject({ aborted: true, settled: 'resolved' });
  });

  it('says a job cancelled before its container started was cancelled before it started', async () => {
    runner.defaultScript = { holdBeforeStart: new Deferred() };
    const { id, heard, ended } = await submitted();
    await nextTurn();
    expect(lifecycle.cancelHere(id)).toBe(true);
    expect(await ended).toBe('cancelled');
    expect(await stored(id)).toMatchObject({
      status: 'cancelled',
      error: 'The execution was cancelled before it started.',
      startedAt: null,
    });
    expect(runner.runs[0].started).toBe(false);
    // It never ran: no `running` status was ever announced.
    expect(heard.map(({ event }) => event.type)).toEqual(['status', 'finished']);
  });

  it('records a job failed when the engine fails while it runs, keeping its output', async () => {
    const release = new Deferred();
    runner.defaultScript = {
      output: [{ stream: 'stdout', data: 'half\n' }],
      hold: release,
      fail: new EngineUnavailableError('lost the connection to the running container'),
    };
    const { id, ended } = await submitted();
    await runner.whenStarted();
    release.resolve();
    expect(await ended).toBe('failed');
    const record = await stored(id);
    expect(record.error).toBe(
      'The Docker engine failed while this execution ran: lost the connection to the running container.',
    );
    expect(record.error).toContain('The Docker engine failed while this execution ran');
    expect(record).toMatchObject({ stdout: 'half\n', exitCode: null });
    expectDate(record.endedAt);
    // Failed at once: an engine failure after the start is the job's, never retried.
    expect(runner.runs).toHaveLength(1);
  });

  it('holds a job whose container could not start through the engine failure, then runs it', async () => {
    runner.defaultScript = {};
    runner.script(
      CODE,
      { start: false, fail: new EngineUnavailableError('could not create a container') },
      {},
    );
    const { id, ended } = await submitted();
    expect(await ended).toBe('completed');
    expect(runner.runs.map((run) => [run.job.jobId, run.attempt])).toEqual([
      [id, 0],
      [id, 1],
    ]);
  });

  it('records a job failed when its code and input are no longer stored', async () => {
    jest.spyOn(store, 'input').mockResolvedValue(undefined);
    const { id, ended } = await submitted();
    expect(await ended).toBe('failed');
    expect((await stored(id)).error).toBe(
      'The sandbox could not run: its code and input are no longer stored.',
    );
    expect(runner.jobs).toHaveLength(0);
  });

  it('aborts a running job when a cancel arrives on the feed (from any instance)', async () => {
    runner.defaultScript = { hold: new Deferred() };
    const { id, ended } = await submitted();
    await runner.whenStarted();
    await feed.publish(id, { type: 'cancel' });
    expect(await ended).toBe('cancelled');
    expect(runner.runs[0].aborted).toBe(true);
    expect((await stored(id)).status).toBe('cancelled');
  });

  it('records the shutdown cancellation as the error of a job the shutdown cancelled', async () => {
    runner.defaultScript = { hold: new Deferred() };
    const { id, ended } = await submitted();
    await runner.whenStarted();
    const reason = new ShutdownCancellation(0);
    expect(lifecycle.cancelAll(reason)).toBe(1);
    expect(await ended).toBe('cancelled');
    expect((await stored(id)).error).toBe(reason.message);
  });

  // DockerodeRunner answers an abort with an 'aborted' outcome, not a rejection: the
  // shutdown's message must win over applyOutcome's 'The execution was cancelled.' too.
  it('records the shutdown cancellation as the error also when the runner resolves an aborted outcome', async () => {
    runner.defaultScript = { hold: new Deferred(), abort: 'outcome' };
    const { id, ended } = await submitted();
    await runner.whenStarted();
    const reason = new ShutdownCancellation(0);
    lifecycle.cancelAll(reason);
    expect(await ended).toBe('cancelled');
    expect((await stored(id)).error).toBe(reason.message);
  });

  it('records an unfinished job whose worker was lost failed, and announces it', async () => {
    const record = queuedRecord({ status: 'running', startedAt: new Date() });
    await store.create(record, { code: CODE, inputJson: INPUT });
    const heard: FeedEvent[] = [];
    await feed.subscribe(record.id, (event) => heard.push(event));

    queue.onLost(record.id);
    await until(async () => isFinished((await stored(record.id)).status));

    expect(await stored(record.id)).toMatchObject({ status: 'failed', error: WORKER_LOST_ERROR });
    expectDate((await stored(record.id)).endedAt);
    expect(heard).toContainEqual({ type: 'finished', status: 'failed' });
    expect(runner.jobs).toHaveLength(0);
  });

  it('leaves a finished job alone when told its worker was lost', async () => {
    const finished = queuedRecord({ status: 'completed', exitCode: 0, endedAt: new Date() });
    await store.create(finished, { code: CODE, inputJson: INPUT });
    queue.onLost(finished.id);

    await nextTurn();
    await nextTurn();
    expect(await stored(finished.id)).toMatchObject({ status: 'completed', error: null });
  });

  /** What another instance does on hearing that the worker of a job was lost. */
  async function recordedLostElsewhere(id: string): Promise<ExecutionRecord> {
    const lost = {
      ...(await stored(id)),
      status: 'failed' as const,
      endedAt: new Date(),
      error: WORKER_LOST_ERROR,
    };
    expect(await store.save(lost)).toBe(true);
    return lost;
  }

  it('keeps the end another instance recorded over the end of its own run, and answers with it', async () => {
    const release = new Deferred();
    runner.defaultScript = { output: [{ stream: 'stdout', data: 'late\n' }], hold: release };
    const { id, heard } = await submitted();
    await runner.whenStarted();
    await until(() => heard.some(({ event }) => event.type === 'status'));
    const lost = await recordedLostElsewhere(id);

    release.resolve();
    await queue.handled.get(id);

    expect(await stored(id)).toEqual(lost);
    // Not announced from here: the instance that recorded the end announced it.
    expect(heard.map(({ event }) => event)).not.toContainEqual(
      expect.objectContaining({ type: 'finished' }),
    );
    expect(lifecycle.live(id)).toBeUndefined();
    expect(lifecycle.records.unsavedCount).toBe(0);
  });

  it('stops the container of a job the queue says this worker lost, keeping the end recorded elsewhere', async () => {
    runner.defaultScript = { hold: new Deferred() };
    const { id, heard } = await submitted();
    await runner.whenStarted();
    const lost = await recordedLostElsewhere(id);

    queue.onLost(id);
    await queue.handled.get(id);

    expect(runner.runs[0]).toMatchObject({ aborted: true, settled: 'rejected' });
    expect(await stored(id)).toEqual(lost);
    expect(lifecycle.running).toBe(0);
    expect(heard.map(({ event }) => event)).not.toContainEqual(
      expect.objectContaining({ type: 'finished' }),
    );
  });

  it('records a job this worker lost failed itself when no instance has yet, and stops its container', async () => {
    runner.defaultScript = { output: [{ stream: 'stdout', data: 'half\n' }], hold: new Deferred() };
    const { id, ended } = await submitted();
    await runner.whenStarted();

    queue.onLost(id);

    expect(await ended).toBe('failed');
    expect(runner.runs[0]).toMatchObject({ aborted: true, settled: 'rejected' });
    expect(await stored(id)).toMatchObject({
      status: 'failed',
      error: WORKER_LOST_ERROR,
      stdout: 'half\n',
    });
  });

  it('keeps a finished record answerable through live() when the store refuses the write, and says why', async () => {
    const release = new Deferred();
    runner.defaultScript = { output: [{ stream: 'stdout', data: 'done\n' }], hold: release };
    const { id, heard, ended } = await submitted();
    await until(() => heard.some(({ event }) => event.type === 'status'));
    store.broken = true;
    release.resolve();
    // Its end is still announced: watchers read live() meanwhile.
    expect(await ended).toBe('completed');

    expect(lifecycle.live(id)).toMatchObject({ status: 'completed', stdout: 'done\n' });
    expect(lifecycle.records.failure).toBe('database or disk is full');
    store.broken = false;
    expect((await stored(id)).status).toBe('running');

    // The next write the store takes hands the kept record over too.
    runner.defaultScript = {};
    const next = await submitted();
    await next.ended;
    expect(await stored(id)).toMatchObject({ status: 'completed', stdout: 'done\n' });
    expect(lifecycle.records.failure).toBeNull();
    expect(lifecycle.live(id)).toBeUndefined();
  });

  it('runs at most MAX_CONCURRENT_EXECUTIONS jobs at once, the next as soon as one ends', async () => {
    const first = new Deferred();
    runner.script('first', { hold: first });
    const a = await submitted({}, 'first');
    const b = await submitted({}, 'second');
    await runner.whenStarted('first');
    await nextTurn();
    expect(runner.jobs).toHaveLength(1);
    expect(lifecycle.running).toBe(1);
    first.resolve();
    expect(await a.ended).toBe('completed');
    expect(await b.ended).toBe('completed');
    expect(runner.maxConcurrency).toBe(1);
    expect(runner.jobs.map((job) => job.payload.code)).toEqual(['first', 'second']);
  });

  it('never rejects for a job whose record the store could not read, nor leaves it queued', async () => {
    const get = store.get.bind(store);
    jest
      .spyOn(store, 'get')
      .mockImplementationOnce(() => Promise.reject(new Error('Connection is closed.')))
      .mockImplementation(get);
    const { id } = await submitted();
    await expect(queue.handled.get(id)).resolves.toBeUndefined();
    expect(queue.taskFailures).toEqual([]);
    await until(async () => isFinished((await stored(id)).status), 2_000);
  });

  it('fails a job whose record it could not read at all, once the store answers again, and announces it', async () => {
    const sleeps = fasterSleeps();
    jest.spyOn(store, 'get');
    try {
      const record = queuedRecord();
      await store.create(record, { code: CODE, inputJson: INPUT });
      const heard: FeedEvent[] = [];
      await feed.subscribe(record.id, (event) => heard.push(event));
      store.broken = true;
      await queue.enqueue(record.id, record.tenant);

      // Every read failed: the run gives up without rejecting, and frees its place.
      await expect(queue.handled.get(record.id)).resolves.toBeUndefined();
      expect(queue.taskFailures).toEqual([]);
      expect(store.get).toHaveBeenCalledTimes(10);

      store.broken = false;
      await until(() => heard.some((event) => event.type === 'finished'));
      expect(await stored(record.id)).toMatchObject({ status: 'failed', error: UNREAD_JOB_ERROR });
      expectDate((await stored(record.id)).endedAt);
      expect(heard).toEqual([
        { type: 'status', status: 'failed' },
        { type: 'finished', status: 'failed' },
      ]);
      expect(runner.jobs).toHaveLength(0);
    } finally {
      sleeps.mockRestore();
    }
  });
});

/** A Date (the store's copies come from another realm: instanceof would not do). */
function expectDate(value: unknown): void {
  expect(Object.prototype.toString.call(value)).toBe('[object Date]');
}

/** Waits, turn by turn, until the condition holds; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Makes `setTimeout` of node:timers/promises (the job's read retries, a second apart)
 * wait a hundredth of its time: the module object the lifecycle's import reads it from.
 */
function fasterSleeps(): jest.SpyInstance {
  const timers = jest.requireActual<typeof import('node:timers/promises')>('node:timers/promises');
  const sleep = timers.setTimeout;
  return jest.spyOn(timers, 'setTimeout').mockImplementation((ms) => sleep(Number(ms) / 100));
}
