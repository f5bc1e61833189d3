import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { Deferred, ScriptedRunner } from '@brain-net/runner/testing/scripted-runner';
import { LocalExecutionFeed } from '@brain-net/messaging';
import { ExecutionRecord, isFinished } from '@brain-net/store';
import { InMemoryCallbackOutbox } from '@brain-net/store/testing/in-memory-callback-outbox';
import { InMemoryExecutionStore } from '@brain-net/store/testing/in-memory-execution-store';
import { queuedRecord } from '@brain-net/store/testing/execution-records';
import { Caller, Scope } from '../auth/caller';
import { AppConfig, loadConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { ProcessorDefinitionService } from '../processor/processor-definition.service';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { EngineStatusService } from './engine-status.service';
import { RuntimeCatalog } from '../runtimes/runtime-catalog';
import { ExecutionAdmission } from './execution-admission';
import { eventsRelayedTo } from './testing/events-relayed-to';
import { inMemoryFiles } from './testing/in-memory-files';
import { ExecutionLifecycle, UNREAD_JOB_ERROR } from './execution-lifecycle';
import { ExecutionService } from './execution.service';
import { CANCEL_WAIT_MS, ShutdownCancellation } from './graceful-shutdown';
import { InProcessExecutionQueue } from './in-process-execution-queue';

const ENV = { MAX_CONCURRENT_EXECUTIONS: '1', MAX_QUEUED_EXECUTIONS: '2', SHUTDOWN_GRACE_MS: '0' };

function caller(tenant = 'acme', scopes: Scope[] = ['execute', 'read']): Caller {
  return { tenant, subject: `${tenant}-key`, scopes: new Set(scopes), bearerToken: null };
}

const ACME = caller('acme');
const GLOBEX = caller('globex');
const ADMIN = caller('ops', ['admin']);

function request(code: string): ExecuteRequestDto {
  return Object.assign(new ExecuteRequestDto(), { code });
}

/** The domain error a call was refused with. */
async function refusal(call: Promise<unknown>): Promise<DomainError> {
  const error = await call.then(
    () => null,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DomainError))
    throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

/** Whether a promise is still pending after the event loop had a few turns. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let turn = 0; turn < 5; turn += 1) await nextTurn();
  return !settled;
}

describe('ExecutionService', () => {
  let config: AppConfig;
  let files: ReturnType<typeof inMemoryFiles>;
  let runner: ScriptedRunner;
  let store: InMemoryExecutionStore;
  let queue: InProcessExecutionQueue;
  let feed: LocalExecutionFeed;
  let lifecycle: ExecutionLifecycle;
  let service: ExecutionService;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  /** The whole single-machine stack over fakes; bootstrapped unless told otherwise. */
  async function build(env: Record<string, string> = {}, bootstrap = true): Promise<void> {
    config = loadConfig({ ...ENV, ...env });
    files = inMemoryFiles(config);
    runner = new ScriptedRunner();
    store = new InMemoryExecutionStore();
    queue = new InProcessExecutionQueue(
      { maxRunning: config.maxConcurrentExecutions, maxQueued: config.maxQueuedExecutions },
      () => undefined,
    );
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
    const processors = {} as ProcessorDefinitionService;
    const admission = new ExecutionAdmission(
      config,
      store,
      queue,
      lifecycle,
      engine,
      processors,
      files.inputFiles,
      new InMemoryCallbackOutbox(),
    );
    service = new ExecutionService(config, store, queue, feed, admission, lifecycle);
    if (bootstrap) await boot();
  }

  /** What ServiceLifecycle starts on an instance that runs executions. */
  async function boot(): Promise<void> {
    await service.start();
    await lifecycle.work();
  }

  beforeEach(() => build());

  async function submit(code: string, as: Caller = ACME): Promise<ExecutionRecord> {
    return (await service.submit(request(code), 'req', as)).record;
  }

  async function stored(id: string): Promise<ExecutionRecord | undefined> {
    return store.get(id);
  }

  it('closes the executions a previous run left unfinished when it boots, then takes jobs', async () => {
    await build({}, false);
    const left = await submittedBeforeBoot();
    await boot();
    expect(await stored(left.id)).toMatchObject({
      status: 'failed',
      error: 'The service restarted before this execution finished; submit it again.',
    });
    // And it runs new ones.
    const record = await submit('print(1)');
    expect((await service.result(record.id, ACME)).status).toBe('completed');
  });

  /** A record stored `running` by "an earlier process", before this one booted. */
  async function submittedBeforeBoot(): Promise<ExecutionRecord> {
    const record: ExecutionRecord = {
      ...queuedRecord({ id: 'left-over', tenant: 'acme', timeoutS: 5, limits: config.limits }),
      status: 'running',
      startedAt: new Date(),
    };
    await store.create(record, { code: '', inputJson: '{}' });
    return record;
  }

  it('shows an execution to its tenant and to admins, and hides it from other tenants as not found', async () => {
    runner.defaultScript = { hold: new Deferred() };
    const record = await submit('print(1)');
    expect((await service.get(record.id, ACME)).id).toBe(record.id);
    expect((await service.get(record.id, ADMIN)).tenant).toBe('acme');

    const hidden = await refusal(service.get(record.id, GLOBEX));
    expect(hidden.code).toBe('EXECUTION_NOT_FOUND');
    expect(hidden.status).toBe(404);
    // Exactly as unknown as an id that does not exist.
    const missing = await refusal(service.get('no-such-id', GLOBEX));
    expect(missing.message).toBe('No execution has id no-such-id.');
    expect(hidden.message).toBe(`No execution has id ${record.id}.`);
    expect((await refusal(service.input(record.id, GLOBEX))).code).toBe('EXECUTION_NOT_FOUND');
    expect((await refusal(service.cancel(record.id, GLOBEX))).code).toBe('EXECUTION_NOT_FOUND');
    // Nothing happened to it.
    expect(runner.runs[0].aborted).toBe(false);
  });

  it('answers result() of another tenant’s finished execution as not found', async () => {
    const record = await submit('print(1)');
    await service.result(record.id, ACME);
    expect((await refusal(service.result(record.id, GLOBEX))).code).toBe('EXECUTION_NOT_FOUND');
  });

  it('answers result() of another tenant’s running execution as not found at once', async () => {
    runner.defaultScript = { hold: new Deferred() };
    const record = await submit('print(1)');
    await runner.whenStarted();
    const foreign = service.result(record.id, GLOBEX);
    expect(await isPending(foreign)).toBe(false);
    expect((await refusal(foreign)).code).toBe('EXECUTION_NOT_FOUND');
  });

  it('answers what an execution was asked to run, to its tenant', async () => {
    const record = await submit('print("asked")');
    expect(await service.input(record.id, ACME)).toEqual({
      code: 'print("asked")',
      inputJson: '{}',
    });
  });

  it('lists a caller’s own tenant’s executions; an admin’s, every tenant’s or one', async () => {
    await submit('a', ACME);
    await submit('b', GLOBEX);
    await submit('c', ACME);
    const mine = await service.list(1, 10, ACME);
    expect(mine.total).toBe(2);
    expect(mine.items.every((item) => item.tenant === 'acme')).toBe(true);
    // Naming another tenant without `admin` still shows one's own.
    expect((await service.list(1, 10, ACME, 'globex')).total).toBe(2);
    expect((await service.list(1, 10, ADMIN)).total).toBe(3);
    expect((await service.list(1, 10, ADMIN, 'globex')).items.map((item) => item.tenant)).toEqual([
      'globex',
    ]);
    // Pages.
    expect((await service.list(2, 1, ACME)).items).toHaveLength(1);
  });

  it('answers 503 STORE_UNAVAILABLE for reads the store refuses', async () => {
    store.broken = true;
    expect((await refusal(service.get(randomUUID(), ACME))).code).toBe('STORE_UNAVAILABLE');
    expect((await refusal(service.list(1, 10, ACME))).code).toBe('STORE_UNAVAILABLE');
  });

  it('answers what is not an execution id as unknown without asking the store', async () => {
    const record = await submit('print(1)');
    store.broken = true;
    for (const id of ['x', `${record.id}:input`, `${record.id}:summary`, record.id.toUpperCase()]) {
      expect((await refusal(service.get(id, ACME))).code).toBe('EXECUTION_NOT_FOUND');
    }
  });

  it('answers a replayed submit with the first execution’s current record', async () => {
    const first = await service.submit(request('print(1)'), 'req-1', ACME, 'key');
    await service.result(first.record.id, ACME);
    const again = await service.submit(request('print(1)'), 'req-2', ACME, 'key');
    expect(again.replayed).toBe(true);
    expect(again.record).toMatchObject({ id: first.record.id, status: 'completed' });
    expect(runner.jobs).toHaveLength(1);
  });

  it('resolves result() only once the job has ended, with its final record', async () => {
    const release = new Deferred();
    runner.defaultScript = { output: [{ stream: 'stdout', data: 'out\n' }], hold: release };
    const record = await submit('print("out")');
    await runner.whenStarted();
    const result = service.result(record.id, ACME);
    expect(await isPending(result)).toBe(true);
    release.resolve();
    expect(await result).toMatchObject({
      id: record.id,
      status: 'completed',
      stdout: 'out\n',
      exitCode: 0,
    });
  });

  it('resolves result() of a job that waited in the queue once it has run', async () => {
    const first = new Deferred();
    runner.script('first', { hold: first });
    const running = await submit('first');
    const waiting = await submit('second');
    expect((await service.get(waiting.id, ACME)).status).toBe('queued');
    const result = service.result(waiting.id, ACME);
    expect(await isPending(result)).toBe(true);
    first.resolve();
    expect(await result).toMatchObject({ id: waiting.id, status: 'completed' });
    expect((await service.get(running.id, ACME)).status).toBe('completed');
  });

  it('withdraws a queued job when it is cancelled: it never runs and ends cancelled', async () => {
    const first = new Deferred();
    runner.script('first', { hold: first });
    const running = await submit('first');
    const waiting = await submit('second');

    const cancelled = await service.cancel(waiting.id, ACME);
    expect(cancelled).toMatchObject({
      id: waiting.id,
      status: 'cancelled',
      error: 'The execution was cancelled before it started.',
    });
    expect(await stored(waiting.id)).toMatchObject({ status: 'cancelled' });
    expect((await queue.load()).waiting).toBe(0);

    first.resolve();
    await service.result(running.id, ACME);
    await nextTurn();
    expect(runner.jobs.map((job) => job.payload.code)).toEqual(['first']);
    expect(await stored(waiting.id)).toMatchObject({ status: 'cancelled', startedAt: null });
  });

  it('kills a running job when it is cancelled, and answers once it has ended', async () => {
    runner.defaultScript = {
      output: [{ stream: 'stdout', data: 'started\n' }],
      hold: new Deferred(),
    };
    const record = await submit('while True: pass');
    await runner.whenStarted();
    const cancelled = await service.cancel(record.id, ACME);
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      error: 'The execution was cancelled.',
      stdout: 'started\n',
    });
    expect(runner.runs[0]).toMatchObject({ aborted: true });
    expect(runner.running).toBe(0);
    expect(await stored(record.id)).toMatchObject({ status: 'cancelled' });
    expect(service.runningCount).toBe(0);
  });

  it('refuses to cancel a finished job with EXECUTION_ALREADY_FINISHED', async () => {
    const record = await submit('print(1)');
    await service.result(record.id, ACME);
    const error = await refusal(service.cancel(record.id, ACME));
    expect(error.code).toBe('EXECUTION_ALREADY_FINISHED');
    expect(error.status).toBe(409);
    expect(error.message).toBe(`Execution ${record.id} already finished with status completed.`);
    expect((await stored(record.id))?.status).toBe('completed');
  });

  it('on shutdown with no grace, cancels the queued and the running jobs and refuses new submits', async () => {
    const first = new Deferred();
    runner.script('first', { hold: first });
    const running = await submit('first');
    const waiting = await submit('second');
    await runner.whenStarted('first');
    const runningResult = service.result(running.id, ACME);

    const shutdown = service.shutDown();
    expect(service.isShuttingDown).toBe(true);
    expect(service.shutDown()).toBe(shutdown);
    await shutdown;

    expect(await stored(waiting.id)).toMatchObject({
      status: 'cancelled',
      error: 'The service shut down before it started.',
    });
    expect(await stored(running.id)).toMatchObject({
      status: 'cancelled',
      error: new ShutdownCancellation(0).message,
    });
    // Its waiting client hears the end.
    expect((await runningResult).status).toBe('cancelled');
    expect(runner.runs[0].aborted).toBe(true);
    expect(runner.jobs.map((job) => job.payload.code)).toEqual(['first']);
    expect(service.runningCount).toBe(0);

    const refused = await refusal(service.submit(request('print(1)'), 'req', ACME));
    expect(refused.code).toBe('SHUTTING_DOWN');
    expect(refused.status).toBe(503);
  });

  it('on shutdown with a grace period, lets a running job finish within it', async () => {
    await build({ SHUTDOWN_GRACE_MS: '10000' });
    const release = new Deferred();
    runner.defaultScript = { hold: release };
    const record = await submit('print(1)');
    await runner.whenStarted();
    const shutdown = service.shutDown();
    expect(await isPending(shutdown)).toBe(true);
    release.resolve();
    await shutdown;
    expect(await stored(record.id)).toMatchObject({ status: 'completed', error: null });
    expect(runner.runs[0].aborted).toBe(false);
  });

  it('on shutdown, records a job whose container does not go within CANCEL_WAIT_MS cancelled anyway', async () => {
    runner.defaultScript = { hold: new Deferred(), abort: 'ignore' };
    const record = await submit('stubborn');
    await runner.whenStarted();
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      let done = false;
      const shutdown = service.shutDown().then(() => (done = true));
      await jest.advanceTimersByTimeAsync(CANCEL_WAIT_MS - 1);
      expect(done).toBe(false);
      expect((await stored(record.id))?.status).toBe('running');
      await jest.advanceTimersByTimeAsync(1);
      await shutdown;
      expect(await stored(record.id)).toMatchObject({
        status: 'cancelled',
        error: new ShutdownCancellation(0).message,
      });
      // The run itself never ended: the record was closed without it.
      expect(runner.runs[0]).toMatchObject({ aborted: true, settled: null });
      expect(service.runningCount).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('neither runs nor leaves unfinished a submit that was under way when shutdown began', async () => {
    const late = service.submit(request('print("late")'), 'req', ACME);
    await service.shutDown();
    await late.catch(() => undefined);
    for (let turn = 0; turn < 5; turn += 1) await nextTurn();

    expect(runner.jobs).toHaveLength(0);
    const { items } = await store.list(0, 10, null);
    expect(items.filter((item) => !isFinished(item.status))).toEqual([]);
  });

  it('reports the store’s write failure while it refuses writes, and answers from memory meanwhile', async () => {
    const release = new Deferred();
    runner.defaultScript = { hold: release };
    const record = await submit('print(1)');
    await runner.whenStarted();
    await nextTurn();
    store.broken = true;
    release.resolve();
    const result = await service.result(record.id, ACME);
    expect(result.status).toBe('completed');
    expect(service.storeFailure).toBe('database or disk is full');
    expect((await service.get(record.id, ACME)).status).toBe('completed');
  });

  it('answers a waiting client that the job failed when its first reads all fail, from memory if the store refuses the write', async () => {
    const sleeps = fasterSleeps(); // the job's read retries and the client's polls
    try {
      // Its input cannot be read (the record can), and no write is taken.
      jest.spyOn(store, 'input').mockRejectedValue(new Error('Connection is closed.'));
      const record = await submit('print(1)');
      jest.spyOn(store, 'save').mockRejectedValue(new Error('database or disk is full'));

      const result = await service.result(record.id, ACME);
      expect(result).toMatchObject({ status: 'failed', error: UNREAD_JOB_ERROR });
      expect(runner.jobs).toHaveLength(0);
      expect((await stored(record.id))?.status).toBe('queued');
      expect(service.storeFailure).toBe('database or disk is full');
    } finally {
      sleeps.mockRestore();
    }
  });
});

/**
 * Makes `setTimeout` of node:timers/promises wait a hundredth of its time: the module
 * object the services' imports read it from at each call.
 */
function fasterSleeps(): jest.SpyInstance {
  const timers = jest.requireActual<typeof import('node:timers/promises')>('node:timers/promises');
  const sleep = timers.setTimeout;
  return jest.spyOn(timers, 'setTimeout').mockImplementation((ms) => sleep(Number(ms) / 100));
}
