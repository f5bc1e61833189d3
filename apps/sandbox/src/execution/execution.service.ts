import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import {
  DockerRunner,
  EngineUnavailableError,
  OutputStream,
  RunOutcome,
  SandboxJob,
} from '@brain-net/runner';
import {
  ExecutionInput,
  ExecutionPage,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionStore,
  IdempotentRequest,
  isFinished,
} from '@brain-net/store';
import { Caller, canSee, listingTenant } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { ExecutionEvents } from './execution-events';
import { ExecutionScheduler } from './execution-scheduler';
import { judgeOutcome } from './execution-verdict';
import { ProcessorDefinitionService } from '../processor/processor-definition.service';
import { queueRefusalError } from '../quota/queue-refusal';
import { EngineOutageError, runWhenEngineReady } from './engine-hold';
import { EngineStatusService } from './engine-status.service';
import { RecordKeeper } from './record-keeper';
import {
  CANCEL_WAIT_MS,
  ShutdownCancellation,
  drainExecutions,
  shuttingDownError,
} from './graceful-shutdown';

/** The file name user code is compiled under: tracebacks say `main.py`, line N. */
const USER_FILENAME = 'main.py';
/**
 * The harness enforces the job's timeout inside the container, from the moment the code
 * starts, and reports it. Our own kill comes this much later, only for a harness that
 * stopped answering: so a late timer here never turns a finished job into a timeout.
 */
const KILL_BACKSTOP_GRACE_MS = 5_000;
/** An empty `input_data` when the request has none. */
const NO_INPUT = '{}';

/** One tenant's executions now, for per-tenant gauges: a tenant with work each. */
export interface TenantLoad {
  readonly tenant: string;
  readonly running: number;
  readonly queued: number;
}

/**
 * An accepted execution that has not finished yet. Its record is the live copy, with
 * output as it arrives; the store gets it at each change of status. Its code and input
 * are not kept here: they wait in the store until the job starts.
 */
interface InFlight {
  readonly record: ExecutionRecord;
  readonly abort: AbortController;
  readonly done: Promise<void>;
  readonly markDone: () => void;
}

/** Accepts, schedules, runs and finishes executions. The store holds the outcome. */
@Injectable()
export class ExecutionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ExecutionService.name);
  private readonly scheduler: ExecutionScheduler;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly records: RecordKeeper;
  private shuttingDown = false;
  /** The graceful shutdown, once it has begun (see shutDown). */
  private shutdown: Promise<void> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly runner: DockerRunner,
    private readonly store: ExecutionStore,
    private readonly events: ExecutionEvents,
    private readonly engine: EngineStatusService,
    private readonly processors: ProcessorDefinitionService,
  ) {
    this.records = new RecordKeeper(store, (error, record) =>
      this.logger.error(
        `cannot store execution ${record.id} (${record.status}); kept in memory: ${errorMessage(error)}`,
      ),
    );
    this.scheduler = new ExecutionScheduler(
      {
        maxRunning: config.maxConcurrentExecutions,
        maxQueued: config.maxQueuedExecutions,
        maxRunningPerTenant: config.maxConcurrentPerTenant,
        maxQueuedPerTenant: config.maxQueuedPerTenant,
      },
      (error: unknown) =>
        this.logger.error('an execution task failed unexpectedly', stackOf(error)),
    );
  }

  get runningCount(): number {
    return this.scheduler.running;
  }

  get queuedCount(): number {
    return this.scheduler.queued;
  }

  get isSaturated(): boolean {
    return this.scheduler.isFull;
  }

  async onApplicationBootstrap(): Promise<void> {
    const closed = this.store.closeUnfinished(
      new Date(),
      'The service restarted before this execution finished; submit it again.',
    );
    if (closed > 0)
      this.logger.warn(`${closed} executions were unfinished when the service stopped`);
    try {
      const removed = await this.runner.removeLeftovers();
      if (removed > 0)
        this.logger.warn(`removed ${removed} sandbox containers left by an earlier run`);
      this.runner.warmUp();
    } catch (error: unknown) {
      this.logger.error(`cannot sweep leftover containers: ${errorMessage(error)}`);
    }
  }

  /**
   * Validates and queues an execution; answers at once with its record. With an
   * Idempotency-Key this tenant already used for the same request, answers with that
   * first execution instead (`replayed`), and nothing runs again.
   */
  async submit(
    request: ExecuteRequestDto,
    requestId: string,
    caller: Caller,
    idempotencyKey?: string,
  ): Promise<{ record: ExecutionRecord; replayed: boolean }> {
    const idempotency =
      idempotencyKey === undefined ? null : idempotentRequest(idempotencyKey, request);
    const earlier = idempotency && this.earlierSubmit(caller, idempotency);
    if (earlier) return { record: earlier, replayed: true };
    if (this.shuttingDown) throw shuttingDownError();
    const timeoutS = request.timeout ?? this.config.defaultTimeoutS;
    if (timeoutS > this.config.maxTimeoutS) {
      throw new DomainError(
        'TIMEOUT_OUT_OF_RANGE',
        `timeout must be between 1 and ${this.config.maxTimeoutS} seconds.`,
        {
          fieldProblems: [
            { field: 'timeout', messages: [`timeout must not exceed ${this.config.maxTimeoutS}`] },
          ],
        },
      );
    }
    const code = await this.codeFor(request, caller);
    const codeBytes = Buffer.byteLength(code, 'utf8');
    if (codeBytes > this.config.maxCodeBytes) {
      throw new DomainError(
        'CODE_TOO_LARGE',
        `code is ${codeBytes} bytes; the limit is ${this.config.maxCodeBytes} bytes.`,
      );
    }
    this.engine.requireReady();

    const record: ExecutionRecord = {
      id: randomUUID(),
      tenant: caller.tenant,
      createdBy: caller.subject,
      requestId,
      processorId: request.processor_id ?? null,
      debugMode: request.debug_mode ?? true,
      timeoutS,
      limits: this.config.limits,
      queuedAt: new Date(),
      status: 'queued',
      startedAt: null,
      endedAt: null,
      stdout: '',
      stderr: '',
      truncated: { stdout: false, stderr: false },
      exitCode: null,
      error: null,
      oomKilled: false,
      exceptions: [],
      variablesAfter: null,
      timings: null,
      codeMs: null,
      usage: null,
      imageId: null,
      pruned: false,
    };
    // Storing a large input is a synchronous write: give it an event-loop turn of its
    // own rather than adding it to whatever this turn already did (parsing, say).
    await nextTurn();
    // Asked again after the last await: a twin submit may have been stored meanwhile.
    const twin = idempotency && this.earlierSubmit(caller, idempotency);
    if (twin) return { record: twin, replayed: true };
    const admission = this.scheduler.admission(caller.tenant);
    if (admission !== 'accepted') {
      throw queueRefusalError(admission, this.scheduler, caller.tenant, this.retryAfterS());
    }
    // No await from the check above to here: the scheduler cannot fill up in between.
    const flight = newInFlight(record);
    fromStore(() =>
      this.store.create(
        record,
        { code, inputJson: request.input_data?.text ?? NO_INPUT },
        idempotency,
      ),
    );
    this.inFlight.set(record.id, flight);
    this.scheduler.submit(record.id, caller.tenant, () => this.execute(record, flight));
    return { record, replayed: false };
  }

  /** The execution this tenant submitted under the key; 422 if it asked for other work. */
  private earlierSubmit(caller: Caller, idempotency: IdempotentRequest): ExecutionRecord | null {
    const earlier = fromStore(() =>
      this.store.findByIdempotencyKey(caller.tenant, idempotency.key),
    );
    if (!earlier) return null;
    if (earlier.fingerprint !== idempotency.fingerprint) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${idempotency.key} was used for a different request (execution ${earlier.id}).`,
      );
    }
    return this.get(earlier.id, caller);
  }

  /** The request's code, or else the code the backend holds for its processor. */
  private async codeFor(request: ExecuteRequestDto, caller: Caller): Promise<string> {
    if (request.code !== undefined) return request.code;
    if (request.processor_id !== undefined) {
      return this.processors.getCode(request.processor_id, caller.bearerToken);
    }
    // The DTO requires one of the two; this keeps the service honest without it.
    throw new DomainError('VALIDATION_FAILED', 'code is required unless processor_id is given.');
  }

  /** The execution, if this caller may see it; another tenant's is as unknown as a missing one. */
  get(id: string, caller: Caller): ExecutionRecord {
    const record =
      this.inFlight.get(id)?.record ?? this.records.get(id) ?? fromStore(() => this.store.get(id));
    if (!record || !canSee(caller, record.tenant)) {
      throw new DomainError('EXECUTION_NOT_FOUND', `No execution has id ${id}.`);
    }
    return record;
  }

  /** What an execution was asked to run; undefined once the store budget dropped it. */
  input(id: string, caller: Caller): ExecutionInput | undefined {
    this.get(id, caller);
    return fromStore(() => this.store.input(id));
  }

  /** The caller's tenant's executions; an admin's: one tenant's, or all. */
  list(page: number, limit: number, caller: Caller, tenant?: string): ExecutionPage {
    return fromStore(() =>
      this.store.list((page - 1) * limit, limit, listingTenant(caller, tenant)),
    );
  }

  /** The record once it has finished. */
  async result(id: string, caller: Caller): Promise<ExecutionRecord> {
    const record = this.get(id, caller);
    await this.inFlight.get(id)?.done;
    return record;
  }

  /** Cancels a queued or running execution; resolves once its container is gone. */
  async cancel(id: string, caller: Caller): Promise<ExecutionRecord> {
    const record = this.get(id, caller);
    if (isFinished(record.status)) {
      throw new DomainError(
        'EXECUTION_ALREADY_FINISHED',
        `Execution ${id} already finished with status ${record.status}.`,
      );
    }
    const flight = this.inFlight.get(id);
    if (this.scheduler.withdraw(id)) {
      this.finishWithoutRunning(
        record,
        'cancelled',
        'The execution was cancelled before it started.',
      );
    } else {
      flight?.abort.abort();
    }
    await flight?.done;
    return record;
  }

  /**
   * Graceful shutdown. Nest closes the HTTP server between beforeApplicationShutdown and
   * onApplicationShutdown, so the executions are drained here, while their clients can
   * still be answered: `?wait=true` requests and event streams end with the final
   * records, and POST /execute answers 503 SHUTTING_DOWN meanwhile.
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.shutDown();
  }

  /** True from the moment shutdown begins: submits are refused and readiness is down. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops taking executions, cancels the queued ones, lets the running ones finish within
   * SHUTDOWN_GRACE_MS, then cancels what still runs (the runner kills and removes its
   * container); see drainExecutions. Every record is final, stored and published when it
   * resolves. Runs once: later calls (HttpShutdown's) share the first.
   */
  shutDown(): Promise<void> {
    this.shutdown ??= this.drain();
    return this.shutdown;
  }

  private async drain(): Promise<void> {
    const graceMs = this.config.shutdownGraceMs;
    const cancellation = new ShutdownCancellation(graceMs);
    const report = await drainExecutions(
      {
        stopAccepting: () => {
          this.shuttingDown = true;
          this.logger.log(`shutting down: no new executions, running ones get ${graceMs} ms`);
        },
        cancelQueued: () => this.cancelQueuedOnShutdown(),
        unfinished: () => [...this.inFlight.values()].map((flight) => flight.done),
        cancelUnfinished: () => {
          const flights = [...this.inFlight.values()];
          flights.forEach((flight) => flight.abort.abort(cancellation));
          return flights.length;
        },
        abandonUnfinished: () => {
          const flights = [...this.inFlight.values()];
          flights.forEach((flight) =>
            this.finishWithoutRunning(flight.record, 'cancelled', cancellation.message),
          );
          return flights.length;
        },
      },
      { graceMs, cancelWaitMs: CANCEL_WAIT_MS },
    );
    this.logger.log({ ...report }, 'executions drained for shutdown');
    if (report.abandoned > 0) {
      this.logger.warn(
        `${report.abandoned} containers were not confirmed removed; the next start sweeps them`,
      );
    }
  }

  private cancelQueuedOnShutdown(): number {
    const ids = this.scheduler.drain();
    for (const id of ids) {
      const record = this.inFlight.get(id)?.record;
      if (record)
        this.finishWithoutRunning(record, 'cancelled', 'The service shut down before it started.');
    }
    return ids.length;
  }

  /** The error of an execution the shutdown cancelled at its deadline; null for any other. */
  private shutdownCancellationError(record: ExecutionRecord): string | null {
    const reason: unknown = this.inFlight.get(record.id)?.abort.signal.reason;
    return reason instanceof ShutdownCancellation ? reason.message : null;
  }

  private async execute(record: ExecutionRecord, flight: InFlight): Promise<void> {
    const dequeuedAt = Date.now();
    const signal = flight.abort.signal;
    let started = false;
    try {
      const input = this.store.input(record.id);
      if (!input) throw new Error('its code and input are no longer stored');
      const job = this.jobFor(record, input);
      const written = { stdout: 0, stderr: 0 };
      const outcome = await runWhenEngineReady(
        () =>
          this.runner.run(
            job,
            {
              onStarted: ({ startedAt }) => {
                started = true;
                record.startedAt = startedAt;
                this.transition(record, 'running');
              },
              onOutput: (stream, data) => this.appendOutput(record, written, stream, data),
            },
            signal,
          ),
        {
          gate: this.engine,
          waitMs: this.config.engineOutageWaitMs,
          signal,
          hasStarted: () => started,
        },
      );
      this.finish(record, outcome, dequeuedAt);
    } catch (error: unknown) {
      this.finishOnError(record, error, dequeuedAt, { started, cancelled: signal.aborted });
    } finally {
      this.inFlight.delete(record.id);
      flight.markDone();
    }
  }

  private jobFor(record: ExecutionRecord, input: ExecutionInput): SandboxJob {
    return {
      jobId: record.id,
      image: this.config.sandboxImage,
      limits: record.limits,
      timeoutMs: record.timeoutS * 1000 + KILL_BACKSTOP_GRACE_MS,
      inputJson: input.inputJson,
      payload: {
        code: input.code,
        debug_mode: record.debugMode,
        max_output_bytes: this.config.maxOutputBytes,
        time_limit_s: record.timeoutS,
        filename: USER_FILENAME,
      },
    };
  }

  /**
   * The harness already caps each stream; this second cap holds even if user code
   * bypassed the harness, so no job can make the service buffer without bound.
   */
  private appendOutput(
    record: ExecutionRecord,
    written: Record<OutputStream, number>,
    stream: OutputStream,
    data: string,
  ): void {
    const room = this.config.maxOutputBytes - written[stream];
    if (room <= 0) {
      record.truncated[stream] = true;
      return;
    }
    const bytes = Buffer.byteLength(data, 'utf8');
    const kept =
      bytes <= room ? data : Buffer.from(data, 'utf8').subarray(0, room).toString('utf8');
    if (kept !== data) record.truncated[stream] = true;
    written[stream] += Math.min(bytes, room);
    record[stream] += kept;
    this.events.publish(record.id, { type: 'output', stream, data: kept });
  }

  private finish(record: ExecutionRecord, outcome: RunOutcome, dequeuedAt: number): void {
    const verdict = judgeOutcome(outcome, {
      timeoutS: record.timeoutS,
      memoryBytes: record.limits.memoryBytes,
    });
    const result = outcome.exit?.result ?? null;
    record.startedAt = outcome.startedAt;
    record.endedAt = outcome.endedAt;
    record.exitCode = verdict.exitCode;
    record.error = verdict.error;
    record.oomKilled = outcome.oomKilled;
    record.truncated = {
      stdout: record.truncated.stdout || outcome.truncated.stdout,
      stderr: record.truncated.stderr || outcome.truncated.stderr,
    };
    record.exceptions = result?.exceptions ?? [];
    record.variablesAfter = record.debugMode ? (result?.variables_after ?? null) : null;
    record.imageId = outcome.imageId;
    record.codeMs = result?.duration_ms ?? null;
    record.usage = outcome.exit
      ? { peakMemoryBytes: outcome.exit.max_rss_kb * 1024, cpuTimeMs: outcome.exit.cpu_time_ms }
      : null;
    record.timings = {
      queuedMs: dequeuedAt - record.queuedAt.getTime(),
      containerStartMs: outcome.timings.containerStartMs,
      runMs: outcome.timings.runMs,
      totalMs: outcome.endedAt.getTime() - record.queuedAt.getTime(),
    };
    this.transition(record, verdict.status);
  }

  /** The job could not run to an outcome: the engine failed, it was cancelled, or a bug. */
  private finishOnError(
    record: ExecutionRecord,
    error: unknown,
    dequeuedAt: number,
    context: { readonly started: boolean; readonly cancelled: boolean },
  ): void {
    if (context.cancelled) {
      record.error = context.started
        ? 'The execution was cancelled.'
        : 'The execution was cancelled before it started.';
    } else if (error instanceof EngineOutageError) {
      record.error = `The execution could not start: ${error.message}.`;
    } else if (error instanceof EngineUnavailableError) {
      this.engine.reportFailure();
      record.error = context.started
        ? `The Docker engine failed while this execution ran: ${error.message}.`
        : `The sandbox could not start: ${error.message}.`;
    } else {
      this.logger.error(`execution ${record.id} failed unexpectedly`, stackOf(error));
      record.error = `The sandbox could not run: ${errorMessage(error)}.`;
    }
    const now = new Date();
    record.endedAt = now;
    record.timings = {
      queuedMs: dequeuedAt - record.queuedAt.getTime(),
      containerStartMs: 0,
      runMs: record.startedAt ? now.getTime() - record.startedAt.getTime() : 0,
      totalMs: now.getTime() - record.queuedAt.getTime(),
    };
    this.transition(record, context.cancelled ? 'cancelled' : 'failed');
  }

  private finishWithoutRunning(
    record: ExecutionRecord,
    status: ExecutionStatus,
    error: string,
  ): void {
    record.endedAt = new Date();
    record.error = error;
    this.transition(record, status);
    const flight = this.inFlight.get(record.id);
    this.inFlight.delete(record.id);
    flight?.markDone();
  }

  /** Running and waiting executions of each tenant that has any (for per-tenant gauges). */
  get tenantLoads(): TenantLoad[] {
    return this.scheduler.tenantNames.map((tenant) => ({
      tenant,
      running: this.scheduler.runningOf(tenant),
      queued: this.scheduler.queuedOf(tenant),
    }));
  }

  /** Why the store refuses writes, while it does (readiness shows it); null when it takes them. */
  get storeFailure(): string | null {
    return this.records.failure;
  }

  private transition(record: ExecutionRecord, status: ExecutionStatus): void {
    if (status === 'cancelled')
      record.error = this.shutdownCancellationError(record) ?? record.error;
    record.status = status;
    this.records.save(record);
    this.events.publish(record.id, { type: 'status', status });
    if (isFinished(status)) {
      this.events.publish(record.id, { type: 'finished', record });
      this.logger.log(
        {
          execution_id: record.id,
          request_id: record.requestId,
          processor_id: record.processorId,
          status,
          exit_code: record.exitCode,
          error: record.error,
          timings_ms: record.timings,
        },
        'execution finished',
      );
    }
  }

  /** A guess at when a slot frees up: one default timeout spread over the slots. */
  private retryAfterS(): number {
    return Math.max(
      1,
      Math.ceil(this.config.defaultTimeoutS / this.config.maxConcurrentExecutions),
    );
  }
}

/** Printable ASCII, as HTTP header values are, and short enough to index. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/**
 * The key and a fingerprint of what the request asks for (not how its JSON was
 * spelled: the fields as parsed, input_data as the text it arrived as).
 */
function idempotentRequest(key: string, request: ExecuteRequestDto): IdempotentRequest {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'Idempotency-Key must be 1 to 200 printable ASCII characters.',
      { fieldProblems: [{ field: 'Idempotency-Key', messages: ['1 to 200 printable ASCII'] }] },
    );
  }
  const asked = JSON.stringify([
    request.code ?? null,
    request.processor_id ?? null,
    request.input_data?.text ?? NO_INPUT,
    request.timeout ?? null,
    request.debug_mode ?? null,
  ]);
  return { key, fingerprint: createHash('sha256').update(asked).digest('hex') };
}

/** A store read or write that failed is a 503 for the caller, never a crash. */
function fromStore<T>(access: () => T): T {
  try {
    return access();
  } catch (error: unknown) {
    if (error instanceof DomainError) throw error;
    throw new DomainError(
      'STORE_UNAVAILABLE',
      `The execution store failed: ${errorMessage(error)}`,
      { retryAfterS: 5 },
    );
  }
}

function newInFlight(record: ExecutionRecord): InFlight {
  let markDone!: () => void;
  const done = new Promise<void>((resolve) => (markDone = resolve));
  return { record, abort: new AbortController(), done, markDone };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stackOf(error: unknown): unknown {
  return error instanceof Error ? error.stack : error;
}
