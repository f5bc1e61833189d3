import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import {
  DockerRunner,
  EngineUnavailableError,
  ItemOutcome,
  JobInputFile,
  OutputStream,
  RunOutcome,
  SandboxBatchItem,
  SandboxJob,
} from '@brain-net/runner';
import { ExecutionFeed, ExecutionQueue } from '@brain-net/messaging';
import {
  ExecutionInput,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionStore,
  isFinished,
} from '@brain-net/store';
import { AppConfig } from '../config/app-config';
import { RuntimeSettings, runtimeNamed } from '../config/runtime-settings';
import { CODE_FILENAME } from '../files/input-file-path';
import { InputFileGoneError, InputFiles } from '../files/input-files';
import { OutputFileKeeper } from '../files/output-files';
import { missingModuleOf } from '../runtimes/module-hint';
import { RuntimeCatalog } from '../runtimes/runtime-catalog';
import { EngineOutageError, runWhenEngineReady } from './engine-hold';
import { EngineStatusService } from './engine-status.service';
import { ExecutionEvents } from './execution-events';
import { judgeOutcome } from './execution-verdict';
import { RecordKeeper } from './record-keeper';
import { sharedBatchJobId, sharedBatchOf } from './shared-batch';
import { ShutdownCancellation } from './graceful-shutdown';
import { errorMessage, stackOf } from '../errors/error-message';

/**
 * The harness enforces the job's timeout inside the container, from the moment the code
 * starts, and reports it. Our own kill comes this much later, only for a harness that
 * stopped answering: so a late timer here never turns a finished job into a timeout.
 */
const KILL_BACKSTOP_GRACE_MS = 5_000;

/** Width times height of one figure's PNG: a larger figure is rendered at a lower dpi. */
const MAX_FIGURE_PIXELS = 4_000_000;
/**
 * How long a run that failed with ModuleNotFoundError may wait for the runtimes' module
 * lists (read once per image: a probe container the first time).
 */
const MODULE_HINT_WITHIN_MS = 10_000;
/** A shared batch's backstop allows this much per item besides its timeout: its worker's fork. */
const BATCH_ITEM_GRACE_MS = 1_000;
/** Reads of a starting job's record: a store that fails this long gives the job up. */
const READ_ATTEMPTS = 10;
const READ_RETRY_MS = 1000;
/**
 * How often records the store refused are offered to it again, and jobs given up
 * unread are looked for again.
 */
const FLUSH_INTERVAL_MS = 1000;
export const WORKER_LOST_ERROR =
  'The worker running this execution was lost (its instance stopped or lost Redis) before it finished; submit it again.';
export const UNREAD_JOB_ERROR =
  'The execution could not start: the store did not answer when its turn came; submit it again.';

/** The record's runtime is not among this instance's (SANDBOX_RUNTIMES differs from the admitting one's). */
class RuntimeNotConfiguredError extends Error {
  constructor(name: string, runtimes: RuntimeSettings) {
    const known = runtimes.all.map((runtime) => runtime.name).join(', ');
    super(
      `The execution could not start: this worker has no runtime ${JSON.stringify(name)} (SANDBOX_RUNTIMES: ${known}).`,
    );
  }
}

/** Why a run is stopped when the queue reports its job lost by this very worker. */
class WorkerLost extends Error {
  constructor() {
    super(WORKER_LOST_ERROR);
  }
}

/** An execution running on this instance; its record is the live copy, output included. */
interface Flight {
  readonly record: ExecutionRecord;
  readonly abort: AbortController;
  readonly done: Promise<void>;
  readonly markDone: () => void;
  /** Its status changes, one after the other: each saved, then announced. */
  changes: Promise<void>;
  /** Output events so far (the feed's `seq`). */
  outputEvents: number;
  readonly written: Record<OutputStream, number>;
  /** Its end is being recorded (an item of a shared batch): no other end is. */
  ending: boolean;
}

/**
 * The run half of an execution's life: takes a job from the queue, runs it in a fresh
 * container, and records how it ended. Every status change is saved (RecordKeeper)
 * before it is announced on ExecutionEvents (whence ExecutionFeedRelay carries it to
 * watchers anywhere); cancels reach it through the feed.
 */
@Injectable()
export class ExecutionLifecycle {
  private readonly logger = new Logger(ExecutionLifecycle.name);
  private readonly flights = new Map<string, Flight>();
  readonly records: RecordKeeper;
  /** Hands records the store refused to it again, once it takes writes. */
  private flusher: NodeJS.Timeout | null = null;
  /**
   * Jobs given up because the store could not be read: their records are still queued
   * there, and would stay so (a waiting client with them) until a restart. Each is
   * recorded failed as soon as its record can be read.
   */
  private readonly unread = new Set<string>();
  private closingUnread: Promise<void> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly runner: DockerRunner,
    private readonly store: ExecutionStore,
    private readonly queue: ExecutionQueue,
    private readonly feed: ExecutionFeed,
    private readonly events: ExecutionEvents,
    private readonly engine: EngineStatusService,
    private readonly inputFiles: InputFiles,
    private readonly outputFiles: OutputFileKeeper,
    private readonly catalog: RuntimeCatalog,
  ) {
    this.records = new RecordKeeper(store, (error, record) =>
      this.logger.error(
        `cannot store execution ${record.id} (${record.status}); kept in memory: ${errorMessage(error)}`,
      ),
    );
  }

  /** Starts offering records the store refused to it again (every role: admission keeps some). */
  start(): void {
    this.flusher = setInterval(() => {
      void this.records.flush();
      this.closingUnread ??= this.closeUnread().finally(() => (this.closingUnread = null));
    }, FLUSH_INTERVAL_MS);
    this.flusher.unref();
  }

  /**
   * Starts taking jobs from the queue, after sweeping what an earlier run of this instance
   * left; only an instance that runs executions (ExecutionWorker) calls it.
   */
  async work(): Promise<void> {
    try {
      const removed = await this.runner.removeLeftovers();
      if (removed > 0)
        this.logger.warn(`removed ${removed} sandbox containers left by an earlier run`);
      this.runner.warmUp();
    } catch (error: unknown) {
      this.logger.error(`cannot sweep leftover containers: ${errorMessage(error)}`);
    }
    this.queue.work(
      (id) => this.run(id),
      (id) => void this.recordLost(id),
    );
  }

  /** At shutdown, once the executions drained. */
  stop(): void {
    if (this.flusher) clearInterval(this.flusher);
  }

  /** Executions running on this instance now. */
  get running(): number {
    return this.flights.size;
  }

  /** Running executions of each tenant on this instance. */
  runningByTenant(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { record } of this.flights.values())
      counts.set(record.tenant, (counts.get(record.tenant) ?? 0) + 1);
    return counts;
  }

  /** The live record of an execution running here, or one the store has not taken yet. */
  live(id: string): ExecutionRecord | undefined {
    return this.flights.get(id)?.record ?? this.records.get(id);
  }

  /** Settles when an execution running here has its final record; undefined if not here. */
  finished(id: string): Promise<void> | undefined {
    return this.flights.get(id)?.done;
  }

  /** Cancels an execution if it runs here (its container is killed and removed). */
  cancelHere(id: string, reason?: unknown): boolean {
    const flight = this.flights.get(id);
    flight?.abort.abort(reason);
    return flight !== undefined;
  }

  /** Every execution running here, for the shutdown. */
  get unfinished(): readonly Promise<void>[] {
    return [...this.flights.values()].map((flight) => flight.done);
  }

  /** Cancels every execution running here; how many. */
  cancelAll(reason: ShutdownCancellation): number {
    const flights = [...this.flights.values()];
    flights.forEach((flight) => flight.abort.abort(reason));
    return flights.length;
  }

  /** Records every execution still running here cancelled, without waiting longer; how many. */
  abandonAll(error: string): number {
    const flights = [...this.flights.values()];
    for (const flight of flights) {
      this.flights.delete(flight.record.id);
      void this.close(flight.record, 'cancelled', error).finally(flight.markDone);
    }
    return flights.length;
  }

  /**
   * Records an execution that never ran (cancelled while it waited, refused by the queue)
   * as ended with this status and error, and announces it.
   */
  async close(record: ExecutionRecord, status: ExecutionStatus, error: string): Promise<void> {
    record.endedAt = new Date();
    record.error = error;
    await this.transition(record, status);
  }

  /** Runs one job of the queue; resolves once its record is final. Never rejects for the job. */
  private async run(id: string): Promise<void> {
    const batchId = sharedBatchOf(id);
    if (batchId !== null) return this.runSharedBatch(batchId);
    const job = await this.readJob(id).catch((error: unknown) => {
      this.logger.error(`execution ${id}: cannot read it; giving it up: ${errorMessage(error)}`);
      this.unread.add(id);
      return null;
    });
    if (!job) return;
    const [record, input] = job;
    // Gone or already ended: cancelled while it waited, or dropped by the history limit.
    if (!record || isFinished(record.status)) return;
    const flight = newFlight(record);
    this.flights.set(id, flight);
    let stopListening = (): void => undefined;
    try {
      stopListening = await this.feed.subscribe(id, (event) => {
        if (event.type === 'cancel') flight.abort.abort();
      });
    } catch (error: unknown) {
      this.logger.warn(
        `execution ${id}: cancels from other instances cannot reach it: ${errorMessage(error)}`,
      );
    }
    try {
      await this.execute(flight, input);
    } finally {
      stopListening();
      this.flights.delete(id);
      flight.markDone();
      this.feed.forget(id).catch(() => undefined); // the feed's own expiry drops it anyway
    }
  }

  /**
   * The job's record and input. A store that fails (Redis restarting, say) is asked
   * again for a while before the job is given up (see closeUnread).
   */
  private async readJob(
    id: string,
  ): Promise<[ExecutionRecord | undefined, ExecutionInput | undefined]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await Promise.all([this.store.get(id), this.store.input(id)]);
      } catch (error: unknown) {
        if (attempt >= READ_ATTEMPTS) throw error;
        this.logger.warn(`execution ${id}: cannot read it yet (${errorMessage(error)}); retrying`);
        await sleep(READ_RETRY_MS);
      }
    }
  }

  private async execute(flight: Flight, input: ExecutionInput | undefined): Promise<void> {
    const { record } = flight;
    const dequeuedAt = Date.now();
    const signal = flight.abort.signal;
    let started = false;
    let status: ExecutionStatus;
    try {
      if (!input) throw new Error('its code and input are no longer stored');
      const job = this.jobFor(
        record,
        input,
        await this.inputFiles.forRun(record.tenant, record.inputFiles),
      );
      const outcome = await runWhenEngineReady(
        () =>
          this.runner.run(
            job,
            {
              onStarted: ({ startedAt }) => {
                started = true;
                record.startedAt = startedAt;
                void this.change(flight, 'running');
              },
              onOutput: (stream, data) => this.appendOutput(flight, stream, data),
            },
            signal,
          ),
        {
          gate: this.engine.gateFor(job.image),
          waitMs: this.config.engineOutageWaitMs,
          signal,
          hasStarted: () => started,
        },
      );
      status = this.applyOutcome(record, outcome, dequeuedAt);
      await this.keepArtifacts(record, outcome);
      await this.hintModule(record);
    } catch (error: unknown) {
      status = this.applyError(record, error, dequeuedAt, { started, cancelled: signal.aborted });
    }
    await this.change(flight, endingOf(record, status, signal));
  }

  /** Queues a status change behind the ones before it; settles when it is announced. */
  private change(flight: Flight, status: ExecutionStatus): Promise<void> {
    flight.changes = flight.changes.then(async () => {
      // Ended elsewhere meanwhile (recorded lost, say): nobody waits for this run any more.
      if (!(await this.transition(flight.record, status))) flight.abort.abort();
    });
    return flight.changes;
  }

  /**
   * Saves the record in its new status, then announces it (never before it is stored).
   * False when the record had ended elsewhere already: the record takes the stored end
   * (so what this instance answers is what the store holds), and nothing is announced.
   */
  private async transition(record: ExecutionRecord, status: ExecutionStatus): Promise<boolean> {
    record.status = status;
    if ((await this.records.save(record)) === 'too-late') {
      await this.takeStoredEnd(record, status);
      return false;
    }
    this.events.publish(record.id, { type: 'status', status });
    if (!isFinished(status)) return true;
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
    return true;
  }

  private async takeStoredEnd(record: ExecutionRecord, status: ExecutionStatus): Promise<void> {
    try {
      const stored = await this.store.get(record.id);
      this.logger.warn(
        `execution ${record.id}: it ended ${stored?.status ?? 'and went'} elsewhere first; not recorded ${status}`,
      );
      if (stored) Object.assign(record, stored);
    } catch (error: unknown) {
      this.logger.warn(`execution ${record.id}: cannot read how it ended: ${errorMessage(error)}`);
    }
  }

  /** Records the jobs given up unread failed, those whose records the store now answers with. */
  private async closeUnread(): Promise<void> {
    for (const id of [...this.unread]) {
      let record: ExecutionRecord | undefined;
      try {
        record = await this.store.get(id);
      } catch {
        return; // still failing: the next tick tries again
      }
      this.unread.delete(id);
      if (record && !isFinished(record.status))
        await this.close(record, 'failed', UNREAD_JOB_ERROR);
    }
  }

  /** A job whose worker vanished: the store says how it ended, if anything does. */
  private async recordLost(id: string): Promise<void> {
    const batchId = sharedBatchOf(id);
    if (batchId !== null) {
      const items = await this.readBatchJobs(batchId).catch(() => []);
      for (const [record] of items) await this.recordLost(record.id);
      return;
    }
    // The worker lost is this one (it lost the job's lock: frozen, or cut off from Redis):
    // another instance may record the job failed at any moment; its container goes now.
    if (this.cancelHere(id, new WorkerLost())) {
      this.logger.warn(`execution ${id}: this worker lost it; stopping its container`);
      return;
    }
    try {
      const record = await this.store.get(id);
      // Ended here and kept until the store takes it: not lost.
      if (!record || isFinished(record.status) || this.live(id)) return;
      this.logger.warn(`execution ${id}: its worker was lost; recording it failed`);
      await this.close(record, 'failed', WORKER_LOST_ERROR);
    } catch (error: unknown) {
      this.logger.error(`execution ${id}: cannot record its lost worker: ${errorMessage(error)}`);
    }
  }

  private jobFor(
    record: ExecutionRecord,
    input: ExecutionInput,
    files: readonly JobInputFile[],
  ): SandboxJob {
    return {
      jobId: record.id,
      files,
      image: this.imageOf(record),
      limits: record.limits,
      timeoutMs: record.timeoutS * 1000 + KILL_BACKSTOP_GRACE_MS,
      inputJson: input.inputJson,
      payload: this.payloadFor(record, input),
    };
  }

  private payloadFor(record: ExecutionRecord, input: ExecutionInput): SandboxJob['payload'] {
    const { maxOutputFiles, maxOutputBytes, maxFigures, maxFigureBytes } = this.config.files;
    return {
      code: input.code,
      debug_mode: record.debugMode,
      max_output_bytes: this.maxOutputBytesOf(record),
      time_limit_s: record.timeoutS,
      filename: CODE_FILENAME,
      // Only when given: without it the harness leaves stdin empty, as it always did.
      ...(input.stdin !== undefined && { stdin: input.stdin }),
      output_files: { max_count: maxOutputFiles, max_bytes: maxOutputBytes },
      figures:
        maxFigures > 0
          ? { max_count: maxFigures, max_bytes: maxFigureBytes, max_pixels: MAX_FIGURE_PIXELS }
          : null,
      // Only when asked: the harness imports nothing of the profilers otherwise.
      ...(record.profileRequested && { profile: true }),
    };
  }

  /**
   * Runs the items of a shared-container batch in one container (DockerRunner.runBatch):
   * each item is a flight of its own (its status, output and end recorded as a single
   * execution's), and all share one abort: cancelling one cancels what has not ended.
   */
  private async runSharedBatch(batchId: string): Promise<void> {
    const dequeuedAt = Date.now();
    const jobs = await this.readBatchJobs(batchId).catch((error: unknown) => {
      this.logger.error(`batch ${batchId}: cannot read it; giving it up: ${errorMessage(error)}`);
      return [];
    });
    const abort = new AbortController();
    const flights = new Map(jobs.map(([record]) => [record.id, newFlight(record, abort)]));
    for (const flight of flights.values()) this.flights.set(flight.record.id, flight);
    const stopListening = await Promise.all(
      [...flights.keys()].map((id) =>
        this.feed
          .subscribe(id, (event) => {
            if (event.type === 'cancel') abort.abort();
          })
          .catch(() => () => undefined),
      ),
    );
    const ended: Promise<void>[] = [];
    try {
      const items: SandboxBatchItem[] = [];
      for (const [record, input] of jobs) {
        const flight = flights.get(record.id) as Flight;
        try {
          const files = await this.inputFiles.forRun(record.tenant, record.inputFiles);
          items.push({
            itemId: record.id,
            inputJson: input.inputJson,
            files,
            payload: this.payloadFor(record, input),
          });
        } catch (error: unknown) {
          // An item whose files are gone fails alone.
          ended.push(
            this.endItem(
              flight,
              this.applyError(record, error, dequeuedAt, { started: false, cancelled: false }),
            ),
          );
        }
      }
      if (items.length === 0) return;
      const limits = jobs[0][0].limits;
      const parallelism = Math.min(items.length, Math.max(1, Math.ceil(limits.cpus)));
      const itemsTimeoutMs = jobs.reduce((sum, [record]) => sum + record.timeoutS * 1000, 0);
      // One runtime per batch: a shared batch's items share the request's `runtime`.
      const image = this.imageOf(jobs[0][0]);
      let started = false;
      await runWhenEngineReady(
        () =>
          this.runner.runBatch(
            {
              jobId: sharedBatchJobId(batchId),
              image,
              limits,
              // The items' own limits, run `parallelism` at a time, and a grace for each start.
              timeoutMs:
                Math.ceil(itemsTimeoutMs / parallelism) +
                items.length * BATCH_ITEM_GRACE_MS +
                KILL_BACKSTOP_GRACE_MS,
              parallelism,
              items,
            },
            {
              onStarted: () => {
                started = true;
              },
              onItemStarted: (itemId, startedAt) => {
                const flight = flights.get(itemId);
                if (!flight) return;
                flight.record.startedAt = startedAt;
                void this.change(flight, 'running');
              },
              onItemOutput: (itemId, stream, data) => {
                const flight = flights.get(itemId);
                if (flight) this.appendOutput(flight, stream, data);
              },
              onItemFinished: (itemId, outcome) => {
                const flight = flights.get(itemId);
                if (flight)
                  ended.push(
                    this.endItem(flight, this.applyItemOutcome(flight.record, outcome, dequeuedAt)),
                  );
              },
            },
            abort.signal,
          ),
        {
          gate: this.engine.gateFor(image),
          waitMs: this.config.engineOutageWaitMs,
          signal: abort.signal,
          hasStarted: () => started,
        },
      );
    } catch (error: unknown) {
      // The batch could not run to its end: what has not ended, ends with the error.
      for (const flight of flights.values()) {
        if (isFinished(flight.record.status) || flight.ending) continue;
        const context = {
          started: flight.record.startedAt !== null,
          cancelled: abort.signal.aborted,
        };
        ended.push(
          this.endItem(flight, this.applyError(flight.record, error, dequeuedAt, context)),
        );
      }
    } finally {
      await Promise.all(ended);
      stopListening.forEach((stop) => stop());
      for (const [id, flight] of flights) {
        this.flights.delete(id);
        flight.markDone();
        this.feed.forget(id).catch(() => undefined);
      }
    }
  }

  /** The batch's unfinished items and their inputs, in order. */
  private async readBatchJobs(batchId: string): Promise<[ExecutionRecord, ExecutionInput][]> {
    const { items } = await this.store.list(0, this.config.maxBatchSize, null, { batchId });
    const jobs: [ExecutionRecord, ExecutionInput][] = [];
    for (const { id } of items) {
      const [record, input] = await this.readJob(id);
      if (record && input && !isFinished(record.status)) jobs.push([record, input]);
    }
    return jobs;
  }

  /** Records one item's end: its files kept, then its final status. */
  private async endItem(
    flight: Flight,
    ending: Promise<ExecutionStatus> | ExecutionStatus,
  ): Promise<void> {
    flight.ending = true;
    const status = await ending;
    await this.change(flight, status);
  }

  /** An item's outcome as a run's, judged and recorded as a single execution's would be. */
  private async applyItemOutcome(
    record: ExecutionRecord,
    item: ItemOutcome,
    dequeuedAt: number,
  ): Promise<ExecutionStatus> {
    const startedAt = item.startedAt ?? item.endedAt;
    const outcome: RunOutcome = {
      containerId: sharedBatchJobId(record.batchId ?? ''),
      imageId: null,
      startedAt,
      endedAt: item.endedAt,
      stopReason:
        item.ending === 'aborted' ? 'aborted' : item.ending === 'timeout' ? 'timeout' : 'exited',
      containerExitCode: null,
      oomKilled: item.oomKilled,
      exit: item.exit,
      truncated: item.truncated,
      harnessError:
        item.harnessError ??
        (item.ending === 'lost' ? 'the batch container ended before this item' : null),
      diagnostics: '',
      timings: { containerStartMs: 0, runMs: item.endedAt.getTime() - startedAt.getTime() },
      outputFiles: item.outputFiles,
      figures: item.figures,
    };
    const status = this.applyOutcome(record, outcome, dequeuedAt);
    await this.keepArtifacts(record, outcome);
    await this.hintModule(record);
    return status;
  }

  /** The image of the record's runtime; a record from before runtimes ran in the default one. */
  private imageOf(record: ExecutionRecord): string {
    const { runtimes } = this.config;
    if (record.runtime === null) return runtimes.default.image;
    const runtime = runtimeNamed(runtimes, record.runtime);
    if (!runtime) throw new RuntimeNotConfiguredError(record.runtime, runtimes);
    return runtime.image;
  }

  /**
   * For a run that failed with ModuleNotFoundError: which runtimes have the module. Read
   * here, on the worker, which has the engine, and kept with the record: reading a
   * result never waits on images, and it says what the runtimes were when it ran.
   */
  private async hintModule(record: ExecutionRecord): Promise<void> {
    const module = missingModuleOf(record.exceptions);
    if (module !== null) {
      record.moduleHint = await this.catalog.moduleHint(module, MODULE_HINT_WITHIN_MS);
    }
  }

  /** The files and figures a run brought back, kept as the execution's own. */
  private async keepArtifacts(record: ExecutionRecord, outcome: RunOutcome): Promise<void> {
    if (outcome.outputFiles) {
      record.outputFiles = await this.outputFiles.keep(
        outcome.outputFiles,
        record.tenant,
        record.id,
      );
    }
    if (outcome.figures) {
      record.figures = await this.outputFiles.keepFigures(
        outcome.figures,
        record.tenant,
        record.id,
      );
    }
  }

  /**
   * The harness already caps each stream; this second cap holds even if user code
   * bypassed the harness, so no job can make the service buffer without bound.
   */
  private appendOutput(flight: Flight, stream: OutputStream, data: string): void {
    const { record, written } = flight;
    const room = this.maxOutputBytesOf(record) - written[stream];
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
    flight.outputEvents += 1;
    this.events.publish(record.id, {
      type: 'output',
      stream,
      data: kept,
      seq: flight.outputEvents,
    });
  }

  /**
   * The cap admission recorded for the run (the instance that admitted it may be set up
   * otherwise than this worker); a record from before run settings were kept, this one's.
   */
  private maxOutputBytesOf(record: ExecutionRecord): number {
    return record.runSettings?.maxOutputBytes ?? this.config.maxOutputBytes;
  }

  /** Fills the record from the run's outcome; returns the status it ended with. */
  private applyOutcome(
    record: ExecutionRecord,
    outcome: RunOutcome,
    dequeuedAt: number,
  ): ExecutionStatus {
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
    record.profile = result?.profile ?? null;
    record.usage = outcome.exit
      ? { peakMemoryBytes: outcome.exit.max_rss_kb * 1024, cpuTimeMs: outcome.exit.cpu_time_ms }
      : null;
    record.timings = {
      queuedMs: dequeuedAt - record.queuedAt.getTime(),
      containerStartMs: outcome.timings.containerStartMs,
      runMs: outcome.timings.runMs,
      totalMs: outcome.endedAt.getTime() - record.queuedAt.getTime(),
    };
    return verdict.status;
  }

  /** The job could not run to an outcome: the engine failed, it was cancelled, or a bug. */
  private applyError(
    record: ExecutionRecord,
    error: unknown,
    dequeuedAt: number,
    context: { readonly started: boolean; readonly cancelled: boolean },
  ): ExecutionStatus {
    if (context.cancelled) {
      record.error = context.started
        ? 'The execution was cancelled.'
        : 'The execution was cancelled before it started.';
    } else if (error instanceof InputFileGoneError || error instanceof RuntimeNotConfiguredError) {
      record.error = error.message;
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
    return context.cancelled ? 'cancelled' : 'failed';
  }
}

/**
 * The status a run ends with, given why it was stopped: cancelled by the shutdown at its
 * deadline (the runner may also report that as an outcome) says so, rather than that
 * someone cancelled it; stopped because its job was lost is recorded failed, as the
 * instance that noticed records it.
 */
function endingOf(
  record: ExecutionRecord,
  status: ExecutionStatus,
  signal: AbortSignal,
): ExecutionStatus {
  const reason: unknown = signal.reason;
  if (status === 'cancelled' && reason instanceof ShutdownCancellation) {
    record.error = reason.message;
  }
  if (status === 'cancelled' && reason instanceof WorkerLost) {
    record.error = reason.message;
    return 'failed';
  }
  return status;
}

/** A flight for the record; items of a shared-container batch share their batch's abort. */
function newFlight(record: ExecutionRecord, abort = new AbortController()): Flight {
  let markDone!: () => void;
  const done = new Promise<void>((resolve) => (markDone = resolve));
  return {
    record,
    abort,
    ending: false,
    done,
    markDone,
    changes: Promise.resolve(),
    outputEvents: 0,
    written: { stdout: 0, stderr: 0 },
  };
}
