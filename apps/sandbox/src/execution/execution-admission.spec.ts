import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { Deferred, ScriptedRunner } from '@brain-net/runner/testing/scripted-runner';
import { FeedEvent, LocalExecutionFeed, type QueueRefusal } from '@brain-net/messaging';
import { InMemoryCallbackOutbox } from '@brain-net/store/testing/in-memory-callback-outbox';
import { InMemoryExecutionStore } from '@brain-net/store/testing/in-memory-execution-store';
import { Caller, Scope } from '../auth/caller';
import { AppConfig, loadConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { RawJson } from '../http/json-body';
import { ProcessorDefinitionService } from '../processor/processor-definition.service';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { EngineStatusService } from './engine-status.service';
import { RuntimeCatalog } from '../runtimes/runtime-catalog';
import { ExecutionAdmission } from './execution-admission';
import { ExecutionLifecycle } from './execution-lifecycle';
import { InProcessExecutionQueue } from './in-process-execution-queue';
import { eventsRelayedTo } from './testing/events-relayed-to';
import { inMemoryFiles } from './testing/in-memory-files';

const ENV = { MAX_CONCURRENT_EXECUTIONS: '1', MAX_QUEUED_EXECUTIONS: '2', SHUTDOWN_GRACE_MS: '0' };
/** Callbacks on, to hooks.example.org only. */
const CALLBACKS_ON = {
  CALLBACK_ALLOWED_HOSTS: 'hooks.example.org',
  CALLBACK_SECRET: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
};
const HOOK = 'https://hooks.example.org/sandbox';

function caller(tenant = 'acme', subject = 'key-1', scopes: Scope[] = ['execute']): Caller {
  return { tenant, subject, scopes: new Set(scopes), bearerToken: 'token-of-' + subject };
}

function request(fields: Partial<ExecuteRequestDto> = {}): ExecuteRequestDto {
  return Object.assign(new ExecuteRequestDto(), { code: 'print(1)', ...fields });
}

/** input_data as the body parser hands it over: the exact JSON text. */
function inputData(text: string): RawJson {
  return new RawJson(text, 'object');
}

/** The domain error a submit was refused with. */
async function refusal(submitting: Promise<unknown>): Promise<DomainError> {
  const error = await submitting.then(
    () => null,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DomainError))
    throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('ExecutionAdmission', () => {
  let config: AppConfig;
  let files: ReturnType<typeof inMemoryFiles>;
  let runner: ScriptedRunner;
  let store: InMemoryExecutionStore;
  let queue: InProcessExecutionQueue;
  let feed: LocalExecutionFeed;
  let lifecycle: ExecutionLifecycle;
  let engine: EngineStatusService;
  let processors: { getCode: jest.Mock<Promise<string>, [string, Caller]> };
  let admission: ExecutionAdmission;
  let callbacks: InMemoryCallbackOutbox;
  let enqueue: jest.SpyInstance<Promise<QueueRefusal | null>, [string, string]>;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  async function build(env: Record<string, string> = {}): Promise<void> {
    config = loadConfig({ ...ENV, ...env });
    files = inMemoryFiles(config);
    runner = new ScriptedRunner();
    store = new InMemoryExecutionStore();
    queue = new InProcessExecutionQueue(
      {
        maxRunning: config.maxConcurrentExecutions,
        maxQueued: config.maxQueuedExecutions,
        maxRunningPerTenant: config.maxConcurrentPerTenant,
        maxQueuedPerTenant: config.maxQueuedPerTenant,
      },
      () => undefined,
    );
    feed = new LocalExecutionFeed();
    engine = new EngineStatusService(runner, config);
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
    processors = { getCode: jest.fn<Promise<string>, [string, Caller]>() };
    callbacks = new InMemoryCallbackOutbox();
    admission = new ExecutionAdmission(
      config,
      store,
      queue,
      lifecycle,
      engine,
      processors as unknown as ProcessorDefinitionService,
      files.inputFiles,
      callbacks,
    );
    enqueue = jest.spyOn(queue, 'enqueue');
    // Jobs stay running unless a spec says otherwise: what waits is then countable.
    runner.defaultScript = { hold: new Deferred() };
  }

  beforeEach(() => build());

  async function storedCount(): Promise<number> {
    return (await store.list(0, 100, null)).total;
  }

  it('stores a valid submit as a queued record of the caller, with its input, and queues it', async () => {
    const admitted = await admission.submit(
      request({ code: 'print(2)', input_data: inputData('{ "a" : 1 }'), timeout: 9 }),
      'req-7',
      caller('acme', 'alice'),
    );
    expect(admitted.replayed).toBe(false);
    expect(admitted.record).toMatchObject({
      id: admitted.id,
      tenant: 'acme',
      createdBy: 'alice',
      requestId: 'req-7',
      processorId: null,
      status: 'queued',
      timeoutS: 9,
      debugMode: true,
      limits: config.limits,
      error: null,
    });
    expect(await store.get(admitted.id)).toMatchObject({
      tenant: 'acme',
      createdBy: 'alice',
      status: 'queued',
    });
    // input_data is kept as the text it arrived as, spacing and all.
    expect(await store.input(admitted.id)).toEqual({ code: 'print(2)', inputJson: '{ "a" : 1 }' });
    expect(enqueue).toHaveBeenCalledTimes(1);
    expect(enqueue).toHaveBeenCalledWith(admitted.id, 'acme');
  });

  it('applies the defaults: EXECUTION_TIMEOUT, debug mode on, an empty input', async () => {
    await build({ EXECUTION_TIMEOUT: '17' });
    const admitted = await admission.submit(request(), 'req', caller());
    expect(admitted.record).toMatchObject({ timeoutS: 17, debugMode: true });
    expect(await store.input(admitted.id)).toEqual({ code: 'print(1)', inputJson: '{}' });
    const quiet = await admission.submit(request({ debug_mode: false }), 'req', caller());
    expect(quiet.record?.debugMode).toBe(false);
  });

  it('fixes on the record the settings its run gets: output cap, no network, read-only root', async () => {
    await build({ MAX_OUTPUT_BYTES: '2048' });
    const admitted = await admission.submit(request(), 'req', caller());
    const runSettings = { maxOutputBytes: 2048, network: 'none', readOnlyRoot: true };
    expect(admitted.record?.runSettings).toEqual(runSettings);
    expect((await store.get(admitted.id))?.runSettings).toEqual(runSettings);
  });

  it('runs the code the backend holds for a processor, fetched for the caller', async () => {
    processors.getCode.mockResolvedValue('print("from the backend")');
    const bob = caller('acme', 'bob');
    const admitted = await admission.submit(
      request({ code: undefined, processor_id: 'proc-1' }),
      'req',
      bob,
    );
    // The whole caller: its tenant and subject are told to the backend, with its token.
    expect(processors.getCode).toHaveBeenCalledWith('proc-1', bob);
    expect(admitted.record?.processorId).toBe('proc-1');
    expect((await store.input(admitted.id))?.code).toBe('print("from the backend")');
  });

  it('refuses a timeout above MAX_TIMEOUT with TIMEOUT_OUT_OF_RANGE, storing and queuing nothing', async () => {
    await build({ MAX_TIMEOUT: '10' });
    const error = await refusal(admission.submit(request({ timeout: 11 }), 'req', caller()));
    expect(error.code).toBe('TIMEOUT_OUT_OF_RANGE');
    expect(error.status).toBe(400);
    expect(error.details.fieldProblems?.[0].field).toBe('timeout');
    expect(await storedCount()).toBe(0);
    expect(enqueue).not.toHaveBeenCalled();
    // The limit itself is allowed.
    await expect(
      admission.submit(request({ timeout: 10 }), 'req', caller()),
    ).resolves.toMatchObject({ replayed: false });
  });

  it('refuses code over MAX_CODE_BYTES, counted in UTF-8 bytes, with CODE_TOO_LARGE', async () => {
    await build({ MAX_CODE_BYTES: '1024' });
    // 512 characters, 1024 bytes: just fits.
    await expect(
      admission.submit(request({ code: 'é'.repeat(512) }), 'req', caller()),
    ).resolves.toMatchObject({ replayed: false });
    // 513 characters, 1026 bytes: too large, though far fewer than 1024 characters.
    const error = await refusal(
      admission.submit(request({ code: 'é'.repeat(513) }), 'req', caller()),
    );
    expect(error.code).toBe('CODE_TOO_LARGE');
    expect(error.status).toBe(413);
    expect(error.message).toBe('code is 1026 bytes; the limit is 1024 bytes.');
    expect(await storedCount()).toBe(1);
    expect(enqueue).toHaveBeenCalledTimes(1);
  });

  it('gives the record the request’s memory_mb, cpus and pids, the other limits as configured', async () => {
    const admitted = await admission.submit(
      request({ memory_mb: 64, cpus: 0.5, pids: 32 }),
      'req',
      caller(),
    );
    const limits = { ...config.limits, memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 32 };
    expect(admitted.record?.limits).toEqual(limits);
    expect((await store.get(admitted.id))?.limits).toEqual(limits);
    // One of them alone changes that one only.
    const more = await admission.submit(request({ memory_mb: 1024 }), 'req', caller());
    expect(more.record?.limits).toEqual({ ...config.limits, memoryBytes: 1024 * 1024 * 1024 });
    // None: exactly the configured limits, so the warm pool serves it.
    const plain = await admission.submit(request(), 'req', caller());
    expect(plain.record?.limits).toEqual(config.limits);
  });

  it.each<[string, Partial<ExecuteRequestDto>, string[]]>([
    ['memory_mb', { memory_mb: 1025 }, ['memory_mb']],
    ['cpus', { cpus: 2.01 }, ['cpus']],
    ['pids', { pids: 257 }, ['pids']],
    ['a huge memory_mb', { memory_mb: Number.MAX_SAFE_INTEGER }, ['memory_mb']],
    ['a memory_mb of 1e308', { memory_mb: 1e308 }, ['memory_mb']],
    ['all three', { memory_mb: 4096, cpus: 64, pids: 100_000 }, ['memory_mb', 'cpus', 'pids']],
  ])(
    'refuses %s above its maximum with 400 LIMIT_OUT_OF_RANGE naming it, storing nothing',
    async (_what, limits, fields) => {
      const error = await refusal(admission.submit(request(limits), 'req', caller()));
      expect(error.code).toBe('LIMIT_OUT_OF_RANGE');
      expect(error.status).toBe(400);
      expect(error.details.fieldProblems?.map((problem) => problem.field)).toEqual(fields);
      for (const field of fields) expect(error.message).toContain(`${field} must not exceed`);
      expect(await storedCount()).toBe(0);
      expect(enqueue).not.toHaveBeenCalled();
      expect(processors.getCode).not.toHaveBeenCalled();
    },
  );

  it('allows each limit at its maximum, and names the maxima it is configured with', async () => {
    await expect(
      admission.submit(request({ memory_mb: 1024, cpus: 2, pids: 256 }), 'req', caller()),
    ).resolves.toMatchObject({ replayed: false });
    await build({ MAX_MEMORY_MB: '300' });
    const error = await refusal(admission.submit(request({ memory_mb: 301 }), 'req', caller()));
    expect(error.message).toBe('memory_mb must not exceed 300 MiB.');
    expect(error.details.fieldProblems).toEqual([
      { field: 'memory_mb', messages: ['memory_mb must not exceed 300'] },
    ]);
  });

  it('stores stdin with the input, exactly as given; none when the request has none', async () => {
    const stdin = 'first line\nsecond, é€😀\n\u0000no newline at the end';
    const admitted = await admission.submit(request({ stdin }), 'req', caller());
    expect(await store.input(admitted.id)).toEqual({ code: 'print(1)', inputJson: '{}', stdin });
    const empty = await admission.submit(request({ stdin: '' }), 'req', caller());
    expect((await store.input(empty.id))?.stdin).toBe('');
    const none = await admission.submit(request(), 'req', caller());
    expect(await store.input(none.id)).not.toHaveProperty('stdin');
  });

  it('refuses stdin over MAX_STDIN_BYTES, counted in UTF-8 bytes, with 413 STDIN_TOO_LARGE', async () => {
    await build({ MAX_STDIN_BYTES: '1024' });
    // Exactly the maximum: 1024 bytes in 512 characters.
    await expect(
      admission.submit(request({ stdin: 'é'.repeat(512) }), 'req', caller()),
    ).resolves.toMatchObject({ replayed: false });
    // One byte over, though far fewer than 1024 characters.
    const error = await refusal(
      admission.submit(request({ stdin: 'é'.repeat(512) + 'x' }), 'req', caller()),
    );
    expect(error.code).toBe('STDIN_TOO_LARGE');
    expect(error.status).toBe(413);
    expect(error.message).toBe('stdin is 1025 bytes; the limit is 1024 bytes.');
    expect(error.details.fieldProblems?.[0].field).toBe('stdin');
    expect(await storedCount()).toBe(1);
    // MAX_STDIN_BYTES=0: an empty stdin still passes, any other is refused.
    await build({ MAX_STDIN_BYTES: '0' });
    await expect(admission.submit(request({ stdin: '' }), 'req', caller())).resolves.toMatchObject({
      replayed: false,
    });
    expect((await refusal(admission.submit(request({ stdin: '\n' }), 'req', caller()))).code).toBe(
      'STDIN_TOO_LARGE',
    );
  });

  it('refuses a submit with 429 QUEUE_FULL and a Retry-After once every slot and waiting place is taken', async () => {
    for (let index = 0; index < 3; index += 1) {
      await admission.submit(request(), 'req', caller(`tenant-${index}`));
    }
    await runner.whenStarted();
    const error = await refusal(admission.submit(request(), 'req', caller('tenant-9')));
    expect(error.code).toBe('QUEUE_FULL');
    expect(error.status).toBe(429);
    // One default timeout (60 s) spread over the one slot.
    expect(error.details.retryAfterS).toBe(60);
    expect(error.message).toBe(
      '1 executions are running here and 2 are waiting; try again shortly.',
    );
    expect(await storedCount()).toBe(3);
    expect(enqueue).toHaveBeenCalledTimes(3);
  });

  it('refuses a tenant whose own share of the queue is full with TENANT_QUEUE_FULL, not others', async () => {
    await build({ MAX_QUEUED_PER_TENANT: '1' });
    await admission.submit(request(), 'req', caller('acme'));
    await admission.submit(request(), 'req', caller('acme'));
    const error = await refusal(admission.submit(request(), 'req', caller('acme')));
    expect(error.code).toBe('TENANT_QUEUE_FULL');
    expect(error.status).toBe(429);
    await expect(admission.submit(request(), 'req', caller('other'))).resolves.toMatchObject({
      replayed: false,
    });
  });

  it('answers a repeated Idempotency-Key with the first execution, and queues nothing new', async () => {
    const first = await admission.submit(
      request({ input_data: inputData('{"x": 1}') }),
      'req-1',
      caller(),
      'key-abc',
    );
    const again = await admission.submit(
      request({ input_data: inputData('{"x": 1}') }),
      'req-2',
      caller(),
      'key-abc',
    );
    expect(again).toEqual({ id: first.id, record: null, replayed: true });
    expect(enqueue).toHaveBeenCalledTimes(1);
    expect(await storedCount()).toBe(1);
  });

  it('keeps Idempotency-Keys per tenant: another tenant’s same key is a new execution', async () => {
    const mine = await admission.submit(request(), 'req', caller('acme'), 'shared-key');
    const theirs = await admission.submit(request(), 'req', caller('globex'), 'shared-key');
    expect(theirs.replayed).toBe(false);
    expect(theirs.id).not.toBe(mine.id);
    expect(enqueue).toHaveBeenCalledTimes(2);
  });

  it('refuses an Idempotency-Key reused for a different request with IDEMPOTENCY_KEY_REUSED', async () => {
    const first = await admission.submit(request({ code: 'print(1)' }), 'req', caller(), 'k1');
    const error = await refusal(
      admission.submit(request({ code: 'print(2)' }), 'req', caller(), 'k1'),
    );
    expect(error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(error.status).toBe(422);
    expect(error.message).toContain(first.id);
    // Other input_data (as text) is a different request too.
    const other = await refusal(
      admission.submit(
        request({ code: 'print(1)', input_data: inputData('{"a":2}') }),
        'req',
        caller(),
        'k1',
      ),
    );
    expect(other.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(enqueue).toHaveBeenCalledTimes(1);
  });

  it.each<[string, Partial<ExecuteRequestDto>]>([
    ['stdin', { stdin: 'a\n' }],
    ['memory_mb', { memory_mb: 64 }],
    ['cpus', { cpus: 0.5 }],
    ['pids', { pids: 32 }],
  ])(
    'takes another %s under the same Idempotency-Key for a different request',
    async (_, asked) => {
      await admission.submit(request(), 'req', caller(), 'k2');
      const error = await refusal(admission.submit(request(asked), 'req', caller(), 'k2'));
      expect(error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      // The same again is a replay.
      const first = await admission.submit(request(asked), 'req', caller(), 'k3');
      const again = await admission.submit(request(asked), 'req', caller(), 'k3');
      expect(again).toEqual({ id: first.id, record: null, replayed: true });
    },
  );

  it('fingerprints a request without stdin or limits as before they existed', async () => {
    await admission.submit(request({ timeout: 5 }), 'req', caller(), 'k4');
    // What the release before them stored for this request: a retry across the upgrade
    // still finds its first execution.
    const before = createHash('sha256')
      .update(JSON.stringify(['print(1)', null, '{}', 5, null]))
      .digest('hex');
    expect((await store.findByIdempotencyKey('acme', 'k4'))?.fingerprint).toBe(before);
  });

  it('registers the callback before the record is stored, and keeps its URL on the record', async () => {
    await build(CALLBACKS_ON);
    const create = jest.spyOn(store, 'create');
    const admitted = await admission.submit(request({ callback_url: HOOK }), 'req', caller());
    expect(callbacks.expected).toMatchObject([
      { executionId: admitted.id, tenant: 'acme', url: HOOK },
    ]);
    expect(create).toHaveBeenCalledTimes(1);
    expect(admitted.record?.callbackUrl).toBe(HOOK);
    const plain = await admission.submit(request(), 'req', caller());
    expect(plain.record?.callbackUrl).toBeNull();
    expect(callbacks.expected).toHaveLength(1);
  });

  it.each([
    ['callbacks are off', {}, HOOK, 'callbacks are off'],
    ['a host not allowed', CALLBACKS_ON, 'https://elsewhere.example.org/x', 'not an allowed host'],
    ['plain http', CALLBACKS_ON, 'http://hooks.example.org/x', 'http is not allowed'],
    ['credentials', CALLBACKS_ON, 'https://me:pw@hooks.example.org/x', 'credentials'],
    ['not a URL', CALLBACKS_ON, 'hooks.example.org/x', 'not a URL'],
  ])(
    'refuses a callback_url with 400 CALLBACK_URL_REFUSED (%s), storing nothing',
    async (_what, env, url, why) => {
      await build(env);
      const error = await refusal(
        admission.submit(request({ callback_url: url }), 'req', caller()),
      );
      expect(error.code).toBe('CALLBACK_URL_REFUSED');
      expect(error.message).toContain(why);
      expect(error.details.fieldProblems?.[0].field).toBe('callback_url');
      expect(await storedCount()).toBe(0);
      expect(callbacks.expected).toEqual([]);
    },
  );

  it('fingerprints callback_url only when given: another URL under the same key is refused', async () => {
    await build({ ...CALLBACKS_ON, CALLBACK_ALLOWED_HOSTS: '*.example.org' });
    await admission.submit(request({ timeout: 5 }), 'req', caller(), 'k5');
    const before = createHash('sha256')
      .update(JSON.stringify(['print(1)', null, '{}', 5, null]))
      .digest('hex');
    expect((await store.findByIdempotencyKey('acme', 'k5'))?.fingerprint).toBe(before);
    const first = await admission.submit(request({ callback_url: HOOK }), 'req', caller(), 'k6');
    const other = request({ callback_url: 'https://other.example.org/' });
    expect((await refusal(admission.submit(other, 'req', caller(), 'k6'))).code).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    const again = await admission.submit(request({ callback_url: HOOK }), 'req', caller(), 'k6');
    expect(again).toEqual({ id: first.id, record: null, replayed: true });
    expect(callbacks.expected).toHaveLength(1);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'has space'],
    ['non-ASCII', 'clé'],
    ['over 200 characters', 'k'.repeat(201)],
  ])('refuses an Idempotency-Key %s with VALIDATION_FAILED', async (_what, key) => {
    const error = await refusal(admission.submit(request(), 'req', caller(), key));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.details.fieldProblems?.[0].field).toBe('Idempotency-Key');
    expect(await storedCount()).toBe(0);
  });

  it('answers 503 STORE_UNAVAILABLE when the store fails, and queues nothing', async () => {
    store.broken = true;
    const error = await refusal(admission.submit(request(), 'req', caller()));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.details.retryAfterS).toBe(5);
    expect(error.message).toContain('database or disk is full');
    expect(enqueue).not.toHaveBeenCalled();
    // With an Idempotency-Key the look-up fails the same way.
    const keyed = await refusal(admission.submit(request(), 'req', caller(), 'k'));
    expect(keyed.code).toBe('STORE_UNAVAILABLE');
  });

  it('answers 503 QUEUE_UNAVAILABLE when the queue does not take the job, and records it failed', async () => {
    enqueue.mockRejectedValueOnce(new Error('Connection is closed.'));
    const published = jest.spyOn(feed, 'publish');
    const error = await refusal(admission.submit(request(), 'req', caller()));
    expect(error.code).toBe('QUEUE_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.details.retryAfterS).toBe(5);
    expect(error.message).toBe('The execution queue failed: Connection is closed.');

    const { items } = await store.list(0, 10, null);
    expect(items).toHaveLength(1);
    const stored = await store.get(items[0].id);
    expect(stored).toMatchObject({
      status: 'failed',
      error: 'The execution could not be queued: Connection is closed.',
    });
    expect(stored?.endedAt).not.toBeNull();
    // Its end is announced like any other: a watcher is not left waiting.
    const heard: FeedEvent[] = published.mock.calls.map(([, event]) => event);
    expect(heard).toContainEqual({ type: 'finished', status: 'failed' });
    expect(runner.jobs).toHaveLength(0);
  });

  it('answers 503 QUEUE_UNAVAILABLE when the queue cannot say whether it has room', async () => {
    jest.spyOn(queue, 'refusal').mockRejectedValue(new Error('Redis is away'));
    const error = await refusal(admission.submit(request(), 'req', caller()));
    expect(error.code).toBe('QUEUE_UNAVAILABLE');
    expect(await storedCount()).toBe(0);
  });

  it('refuses submits while the engine is not ready (one machine: it runs them itself)', async () => {
    const notChecked = new EngineStatusService(runner, config);
    admission = new ExecutionAdmission(
      config,
      store,
      queue,
      lifecycle,
      notChecked,
      processors as unknown as ProcessorDefinitionService,
      files.inputFiles,
      callbacks,
    );
    const error = await refusal(admission.submit(request(), 'req', caller()));
    expect(error.code).toBe('ENGINE_UNAVAILABLE');
    expect(await storedCount()).toBe(0);
  });

  it('refuses every submit after close() with 503 SHUTTING_DOWN, but still answers a replay', async () => {
    const first = await admission.submit(request(), 'req', caller(), 'before-close');
    admission.close();
    expect(admission.isClosed).toBe(true);
    const error = await refusal(admission.submit(request(), 'req', caller()));
    expect(error.code).toBe('SHUTTING_DOWN');
    expect(error.status).toBe(503);
    expect(error.details.retryAfterS).toBeGreaterThan(0);
    const keyed = await refusal(admission.submit(request(), 'req', caller(), 'new-key'));
    expect(keyed.code).toBe('SHUTTING_DOWN');
    await expect(
      admission.submit(request(), 'req', caller(), 'before-close'),
    ).resolves.toMatchObject({ id: first.id, replayed: true });
    expect(enqueue).toHaveBeenCalledTimes(1);
  });

  // refusal() and enqueue() are two steps with the store's write between them: submits
  // admitted together may overshoot the waiting limit by the submits in flight (as on a
  // shared queue), and none of them fails for it.
  it('takes both submits racing for the last waiting place, and fails neither', async () => {
    await admission.submit(request(), 'req', caller('a'));
    await admission.submit(request(), 'req', caller('b'));
    await runner.whenStarted();
    const racing = await Promise.allSettled([
      admission.submit(request(), 'req', caller('c')),
      admission.submit(request(), 'req', caller('d')),
    ]);
    expect(racing.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    const { items } = await store.list(0, 10, null);
    expect(items.map((item) => item.status)).not.toContain('failed');
    expect(items).toHaveLength(4);
    await expect(admission.submit(request(), 'req', caller('e'))).rejects.toMatchObject({
      code: 'QUEUE_FULL',
    });
  });

  it('answers 429 when the queue refuses at enqueue (a shared queue keeps its tenant caps atomically), and cancels the record', async () => {
    enqueue.mockResolvedValueOnce('tenant-queue-full');
    const error = await refusal(admission.submit(request(), 'req', caller('a')));
    expect(error).toMatchObject({ code: 'TENANT_QUEUE_FULL', status: 429 });
    expect(error.details.retryAfterS).toBeGreaterThan(0);
    const { items } = await store.list(0, 10, null);
    expect(items.map((item) => item.status)).toEqual(['cancelled']);
  });

  it('does not wait for the job: a submit answers while its job is still queued or running', async () => {
    const first = await admission.submit(request(), 'req', caller());
    await nextTurn();
    expect(lifecycle.live(first.id)?.status).toBe('running');
    const second = await admission.submit(request(), 'req', caller());
    expect((await store.get(second.id))?.status).toBe('queued');
  });
});
