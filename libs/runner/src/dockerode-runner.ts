import { Duplex, PassThrough, Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { ContainerLimits, sameLimits } from './container-limits';
import {
  BatchRunListener,
  BatchRunOutcome,
  DockerRunner,
  EngineImage,
  EngineUnavailableError,
  HarnessDelivery,
  ImageMissingError,
  MAX_BATCH_PARALLELISM,
  RunListener,
  RunOutcome,
  SandboxBatchJob,
  SandboxJob,
  StopReason,
} from './docker-runner';
import { BatchFrameCollector } from './batch-frame-collector';
import { batchAbortedBeforeStartOutcome, batchOutcomeOf, unfinishedEnding } from './batch-outcome';
import { encodePayload } from './harness/harness-protocol';
import {
  HARNESS_COMMAND,
  HARNESS_COMPILER_COMMAND,
  HARNESS_COMPILER_INPUT,
  MAX_COMPILED_HARNESS_BYTES,
  harnessFrame,
  parseCompiledHarness,
  pythonVersionOf,
} from './harness/harness-program';
import { CompiledHarnessCache, HarnessCompilation } from './compiled-harness-cache';
import { HarnessFrameCollector } from './harness-frame-collector';
import {
  IMAGE_PROBE_COMMAND,
  IMAGE_PROBE_JOB,
  IMAGE_PROBE_TIMEOUT_MS,
  ImageInventory,
  MAX_INVENTORY_BYTES,
  parseImageInventory,
} from './image-inventory';
import { JobInputFile, writeInputFiles } from './input-files';
import { batchPayloadText, jobPayloadText } from './job-payload';
import {
  HARNESS_COMPILER_JOB,
  JOB_LABEL,
  RunnerOptions,
  SANDBOX_LABEL,
  engineAddress,
} from './runner-options';
import {
  ContainerEnd,
  RunEndSign,
  abortedBeforeStartOutcome,
  answersAtExitFrame,
  containerAtExitFrame,
  runOutcomeOf,
} from './run-outcome';
import { RunStopper } from './run-stopper';
import { importedByJob } from './imported-modules';
import { WarmPools } from './warm-pools';
import { SANDBOX_ENV, sandboxContainerOptions } from './sandbox-container';

/** After the container exits, how long the attach stream may take to deliver its tail. */
const STREAM_DRAIN_MS = 2_000;
/** How long past a job's deadline the engine may take to report its exit before we stop waiting. */
const GIVE_UP_AFTER_DEADLINE_MS = 30_000;
/** Force-removes asked of the engine before a container is left for a later retry. */
const REMOVE_ATTEMPTS = 3;
const REMOVE_RETRY_MS = 250;

/** The job label of a container prepared before its job was known. */
const POOL_JOB_LABEL = 'warm-pool';
/** How long compiling the harness may take before the runner gives up on it. */
const COMPILE_TIMEOUT_MS = 30_000;

/** What a run answers with, and whether it answered at the harness's final frame. */
interface Answer<T> {
  readonly outcome: T;
  readonly atFrame: boolean;
}

/** How the container ended, and when, for the outcome. */
interface RunEnd {
  readonly acquiredAt: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly stopReason: StopReason;
  readonly container: ContainerEnd;
}

/** What drive() needs of a run (a job's, or a batch's). */
interface DriveSpec<T> {
  readonly signal: AbortSignal;
  readonly acquiredAt: number;
  /** The backstop: the container is killed this long after its start. */
  readonly timeoutMs: number;
  /** The image tag, whose id the engine watch keeps. */
  readonly imageTag: string;
  /** The payload's JSON text, framed by drive(). */
  readonly payload: string;
  /** Sent after the payload, in order. */
  readonly files: readonly JobInputFile[];
  /** Settles at the harness's final frame (exit, batch_exit). */
  readonly finalFrame: Promise<void>;
  readonly finalFrameSeen: () => boolean;
  /** Whether the run is answered at its final frame, without waiting for the container. */
  answersAtFrame(endSign: RunEndSign, stopReason: StopReason): boolean;
  onStarted(event: { containerId: string; startedAt: Date }): void;
  abortedBeforeStart(now: Date): T;
  outcome(run: RunEnd): T;
}

/** A started container whose harness waits for its payload on stdin. */
interface ReadyContainer {
  readonly container: Docker.Container;
  readonly stream: Duplex;
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  /** Settles when the attach stream ends: the container exited, or the engine went away. */
  readonly ended: Promise<void>;
  hasEnded: boolean;
}

/**
 * Runs each job in a fresh container through dockerode, taken from a warm pool of
 * started, never-used containers when one is ready or on its way. Engine I/O only.
 */
@Injectable()
export class DockerodeRunner extends DockerRunner {
  private readonly logger = new Logger(DockerodeRunner.name);
  private readonly docker: Docker;
  /** Containers whose removal failed (the engine went away mid-run): retried when it answers. */
  private readonly unremoved = new Set<string>();
  /** Removals of containers whose jobs were already answered. */
  private readonly removals = new Set<Promise<void>>();
  /** Jobs whose code runs now, from their container's acquisition to their answer (refill). */
  private runningJobs = 0;
  /** The host's cores: what jobs running leave of them bounds the pool's preparations (refill). */
  private readonly cores: number;
  /** The id of each image tag, as the engine watch last found it (findImage). */
  private readonly imageIds = new Map<string, string>();
  private readonly compiledHarness = new CompiledHarnessCache<ContainerLimits>(
    (tag, limits) => this.compileHarness(tag, limits),
    (tag, error) =>
      this.logger.warn(
        `cannot compile the harness for ${tag}, containers get its source: ${describe(error)}`,
      ),
  );

  /** Image probes under way: shutdown waits for their containers. */
  private readonly probes = new Set<Promise<unknown>>();

  private readonly pool: WarmPools<ReadyContainer> | null;
  /** The pool's containers: a job run in one tells the pool how long its preload took. */
  private readonly warmContainers = new WeakSet<ReadyContainer>();

  constructor(private readonly options: RunnerOptions) {
    super();
    this.docker = new Docker(engineAddress(options.dockerHost));
    const spec = options.warmPool;
    this.cores = spec?.cores ?? 0;
    this.pool =
      spec && spec.size > 0 && spec.images.length > 0
        ? new WarmPools<ReadyContainer>(spec.size, spec.images, spec.preload, {
            prepare: async (kind) => {
              const ready = await this.prepare(
                kind.image,
                spec.limits,
                POOL_JOB_LABEL,
                kind.preload,
              );
              this.warmContainers.add(ready);
              return ready;
            },
            isUsable: (ready) => !ready.hasEnded,
            discard: async (ready) => {
              ready.stream.destroy();
              await this.remove(ready.container.id);
            },
            onPrepareFailed: (image, error) =>
              this.logger.warn(`cannot prepare warm containers of ${image}: ${describe(error)}`),
          })
        : null;
  }

  async run(job: SandboxJob, listener: RunListener, signal: AbortSignal): Promise<RunOutcome> {
    return this.inContainer(job, [job.payload.code], (ready, acquiredAt) =>
      this.runReady(ready, job, listener, signal, acquiredAt),
    );
  }

  override async runBatch(
    job: SandboxBatchJob,
    listener: BatchRunListener,
    signal: AbortSignal,
  ): Promise<BatchRunOutcome> {
    if (!Number.isInteger(job.parallelism) || job.parallelism < 1) {
      throw new RangeError(
        `a batch's parallelism must be a whole number from 1: ${job.parallelism}`,
      );
    }
    if (job.parallelism > MAX_BATCH_PARALLELISM) {
      throw new RangeError(`a batch runs at most ${MAX_BATCH_PARALLELISM} items at once`);
    }
    const codes = job.items.map((item) => item.payload.code);
    return this.inContainer(job, codes, (ready, acquiredAt) =>
      this.runBatchReady(ready, job, listener, signal, acquiredAt),
    );
  }

  /**
   * Runs `body` in a container for the job (acquire), and removes the container: after
   * the answer when `body` answered at the harness's final frame, else before this settles.
   * `codes`: the job's Python code (a batch's, of each item).
   */
  private async inContainer<T>(
    job: Pick<SandboxJob, 'jobId' | 'image' | 'limits'>,
    codes: readonly string[],
    body: (ready: ReadyContainer, acquiredAt: number) => Promise<Answer<T>>,
  ): Promise<T> {
    if (this.unremoved.size > 0) await this.retryRemovals();
    const acquiredAt = Date.now();
    const ready = await this.acquire(job, codes);
    this.runningJobs += 1;
    let answeredAtFrame = false;
    try {
      const { outcome, atFrame } = await body(ready, acquiredAt);
      answeredAtFrame = atFrame;
      return outcome;
    } finally {
      this.runningJobs -= 1;
      if (answeredAtFrame) this.afterAnswer(ready);
      else {
        this.refill();
        await this.discard(ready);
      }
    }
  }

  /**
   * Refills the pool and removes the container of a job answered at its exit frame, off
   * the answer's path: on the next turn of the event loop, once the caller has stored and
   * sent the result. The removal is tracked, so that shutdown waits for it; one the engine
   * refuses is retried.
   */
  private afterAnswer(ready: ReadyContainer): void {
    const removal = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.refill();
      return this.discard(ready);
    });
    this.removals.add(removal);
    void removal.finally(() => this.removals.delete(removal));
  }

  /**
   * The job's container: from the pool when it serves the job (the one that will be ready
   * first), else prepared for it; also when the pool's preparation it claimed fails, so
   * that a job never fails for the pool's sake.
   *
   * A ready container taken is replaced once its job is answered (inContainer), so that
   * the preparation never competes with the job for the CPU; at a pace where that is too
   * late the pool keeps more than one (WarmTarget). A job that found none ready refills at
   * once: the jobs behind it would find none either.
   */
  private acquire(
    job: Pick<SandboxJob, 'jobId' | 'image' | 'limits'>,
    codes: readonly string[],
  ): Promise<ReadyContainer> {
    const own = () => this.prepare(job.image, job.limits, job.jobId);
    if (!this.pool || !this.servesFromPool(job)) return own();
    const readyBefore = this.pool.readyCount(job.image);
    const warm = this.pool.take(job.image, importedByJob(codes));
    if (this.pool.readyCount(job.image) === readyBefore) this.refill(1); // this job is about to run
    return warm ? warm.catch(own) : own();
  }

  private async discard(ready: ReadyContainer): Promise<void> {
    ready.stream.destroy();
    await this.remove(ready.container.id);
  }

  /**
   * Refills the pool with as many preparations under way at once as cores the jobs running
   * their code leave free: a preparation (the engine's work, and a preload) on a core a job
   * needs slows the job down; with every core taken the pool spends nothing, and jobs get
   * cold containers until some end. Jobs still waiting for a container do not count: they
   * claim the preparations the refill starts. `starting`: jobs about to run, not counted yet.
   */
  private refill(starting = 0): void {
    const freeCores = this.cores - this.runningJobs - starting;
    if (freeCores > 0) this.pool?.fill(freeCores);
  }

  harnessDelivery(tag: string): HarnessDelivery {
    const compiled = this.compiledHarness.peek(tag, this.imageIds.get(tag));
    return compiled
      ? { form: 'compiled', python: pythonVersionOf(compiled.pythonVersion) }
      : { form: 'source' };
  }

  /** Prepares the warm pool's containers, if it has one; call after removeLeftovers(). */
  warmUp(): void {
    this.pool?.fill();
  }

  async close(): Promise<void> {
    await Promise.all(this.removals);
    // Whatever the engine refused to remove so far gets one more try before we go.
    await this.retryRemovals();
    await this.compiledHarness.settled();
    await Promise.all([...this.probes].map((probe) => probe.catch(() => undefined)));
    await this.pool?.close();
  }

  /**
   * A warm container serves a job only if it is exactly the container the job asks for:
   * a job of another image, or whose limits differ in anything (a request's own
   * `memory_mb`, say), gets a container of its own; nor does it count as demand for the pool.
   */
  private servesFromPool(job: Pick<SandboxJob, 'image' | 'limits'>): boolean {
    const spec = this.options.warmPool;
    return spec !== null && spec.images.includes(job.image) && sameLimits(spec.limits, job.limits);
  }

  /**
   * A started container whose harness waits for its payload: started (startContainer),
   * and sent the harness, compiled for its image when that is known yet.
   */
  private async prepare(
    image: string,
    limits: ContainerLimits,
    jobLabel: string,
    preload: readonly string[] = [],
  ): Promise<ReadyContainer> {
    const compiled = this.compiledHarness.lookup(image, this.imageIds.get(image), limits);
    const ready = await this.startContainer(
      this.containerSpec(image, limits, jobLabel, HARNESS_COMMAND, preload),
    );
    ready.stream.write(harnessFrame(compiled));
    return ready;
  }

  /** A container created, attached (before start, so no output is missed) and started. */
  private async startContainer(spec: Docker.ContainerCreateOptions): Promise<ReadyContainer> {
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(spec);
    } catch (error: unknown) {
      if (statusCodeOf(error) === 404)
        throw new ImageMissingError(String(spec.Image), { cause: error });
      throw new EngineUnavailableError(`could not create a container: ${describe(error)}`, {
        cause: error,
      });
    }
    try {
      const stream = await this.engineCall('attach to the container', async () =>
        asDuplex(
          await container.attach({
            stream: true,
            stdin: true,
            stdout: true,
            stderr: true,
            hijack: true,
          }),
        ),
      );
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      this.docker.modem.demuxStream(stream, stdout, stderr);
      const ready: ReadyContainer = {
        container,
        stream,
        stdout,
        stderr,
        ended: new Promise<void>((resolve) => {
          const end = () => {
            ready.hasEnded = true;
            resolve();
          };
          stream.once('end', end);
          stream.once('close', end);
          stream.once('error', end);
        }),
        hasEnded: false,
      };
      await this.engineCall('start the container', () => container.start());
      return ready;
    } catch (error: unknown) {
      await this.remove(container.id);
      throw error;
    }
  }

  /**
   * The harness compiled by the image's own Python, in a container of its own with the
   * limits of the job (or pool) that asked first; and the id of the image it ran.
   */
  private async compileHarness(
    image: string,
    limits: ContainerLimits,
  ): Promise<HarnessCompilation> {
    const { imageId, stdout } = await this.runOneOff({
      image,
      limits,
      jobLabel: HARNESS_COMPILER_JOB,
      command: HARNESS_COMPILER_COMMAND,
      input: HARNESS_COMPILER_INPUT,
      maxStdoutBytes: MAX_COMPILED_HARNESS_BYTES + 64,
      timeoutMs: COMPILE_TIMEOUT_MS,
      what: 'the compiler',
    });
    return { imageId, compiled: parseCompiledHarness(stdout) };
  }

  probeImage(tag: string, limits: ContainerLimits): Promise<ImageInventory> {
    const probe = this.runOneOff({
      image: tag,
      limits,
      jobLabel: IMAGE_PROBE_JOB,
      command: IMAGE_PROBE_COMMAND,
      input: null,
      maxStdoutBytes: MAX_INVENTORY_BYTES,
      timeoutMs: IMAGE_PROBE_TIMEOUT_MS,
      what: 'the image probe',
    }).then(({ imageId, stdout }) => parseImageInventory(stdout, imageId));
    this.probes.add(probe);
    void probe.catch(() => undefined).finally(() => this.probes.delete(probe));
    return probe;
  }

  /**
   * Runs `command` in a one-off container of the image, hardened and limited like a job's
   * (containerSpec), writes `input` to its stdin, and answers its stdout (past
   * `maxStdoutBytes`, one chunk more at most) and the id of the image it ran, once it
   * exited 0 within `timeoutMs`. The container is removed before this settles.
   */
  private async runOneOff(spec: {
    readonly image: string;
    readonly limits: ContainerLimits;
    readonly jobLabel: string;
    readonly command: readonly string[];
    readonly input: Buffer | null;
    readonly maxStdoutBytes: number;
    readonly timeoutMs: number;
    /** Names the container in errors. */
    readonly what: string;
  }): Promise<{ readonly imageId: string; readonly stdout: Buffer }> {
    const { what, timeoutMs } = spec;
    const ready = await this.startContainer(
      this.containerSpec(spec.image, spec.limits, spec.jobLabel, spec.command),
    );
    try {
      const chunks: Buffer[] = [];
      let bytes = 0;
      // The chunk that crosses the cap is kept: the caller sees that the output was too long.
      ready.stdout.on('data', (chunk: Buffer) => {
        if (bytes <= spec.maxStdoutBytes) chunks.push(chunk);
        bytes += chunk.length;
      });
      ready.stderr.resume();
      if (spec.input) ready.stream.write(spec.input);
      const ended = await Promise.race([
        ready.ended.then(() => true),
        delay(timeoutMs).then(() => false),
      ]);
      if (!ended) throw new Error(`${what} did not finish within ${timeoutMs} ms`);
      const state = await this.engineCall(`inspect ${what}`, () => ready.container.inspect());
      if (state.State.ExitCode !== 0) {
        throw new Error(`${what} exited with code ${state.State.ExitCode}`);
      }
      return { imageId: state.Image, stdout: Buffer.concat(chunks) };
    } finally {
      await this.discard(ready);
    }
  }

  /**
   * Force-removes a container; if the engine cannot be reached, or keeps refusing,
   * remembers it for later (retryRemovals: at probes, and at close).
   */
  private async remove(containerId: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.docker.getContainer(containerId).remove({ force: true, v: true });
        this.unremoved.delete(containerId);
        return;
      } catch (error: unknown) {
        const status = statusCodeOf(error);
        if (status === 404) {
          this.unremoved.delete(containerId);
          return;
        }
        // A force-remove that races the container's own exit is refused ("is not
        // running") and leaves it "removal in progress": asked again, the engine removes it.
        if (status !== undefined && attempt < REMOVE_ATTEMPTS) {
          await delay(REMOVE_RETRY_MS);
          continue;
        }
        this.unremoved.add(containerId);
        this.logger.error(
          `could not remove container ${containerId}, will retry: ${describe(error)}`,
        );
        return;
      }
    }
  }

  private async retryRemovals(): Promise<void> {
    await Promise.all([...this.unremoved].map((id) => this.remove(id)));
  }

  /**
   * Gives the ready container its job and waits for its end. Engine I/O only: the
   * HarnessFrameCollector reads the frames, drive() stops the container, and run-outcome
   * decides when to answer and with what.
   */
  private runReady(
    ready: ReadyContainer,
    job: SandboxJob,
    listener: RunListener,
    signal: AbortSignal,
    acquiredAt: number,
  ): Promise<Answer<RunOutcome>> {
    const frames = new HarnessFrameCollector(
      ready.stdout,
      ready.stderr,
      (stream, data) => listener.onOutput(stream, data),
      { outputFiles: job.payload.output_files ?? null, figures: job.payload.figures ?? null },
    );
    return this.drive(ready, {
      signal,
      acquiredAt,
      timeoutMs: job.timeoutMs,
      imageTag: job.image,
      payload: jobPayloadText(job),
      files: job.files ?? [],
      finalFrame: frames.exitArrived,
      finalFrameSeen: () => frames.exit !== null,
      answersAtFrame: (endSign, stopReason) => answersAtExitFrame(endSign, frames.exit, stopReason),
      onStarted: (event) => listener.onStarted(event),
      abortedBeforeStart: (now) => abortedBeforeStartOutcome(ready.container.id, acquiredAt, now),
      outcome: (run) => {
        const preload = frames.exit?.preload;
        if (preload && this.warmContainers.has(ready)) this.pool?.recordPreload(preload);
        return runOutcomeOf({
          ...run,
          containerId: ready.container.id,
          frames: frames.collected(),
        });
      },
    });
  }

  /**
   * Gives the ready container a batch (PROTOCOL.md, "Batches") and waits for its end:
   * answered at the batch_exit frame, once every item it ran has ended; items that did
   * not end are reported by why the container stopped.
   */
  private runBatchReady(
    ready: ReadyContainer,
    job: SandboxBatchJob,
    listener: BatchRunListener,
    signal: AbortSignal,
    acquiredAt: number,
  ): Promise<Answer<BatchRunOutcome>> {
    const frames = new BatchFrameCollector(ready.stdout, ready.stderr, job.items, listener);
    return this.drive(ready, {
      signal,
      acquiredAt,
      timeoutMs: job.timeoutMs,
      imageTag: job.image,
      payload: batchPayloadText(job),
      files: job.items.flatMap((item) => item.files ?? []),
      finalFrame: frames.batchExitArrived,
      finalFrameSeen: () => frames.completed,
      // Every item's end is in its own frame: nothing the container's state adds is awaited.
      answersAtFrame: (endSign, stopReason) => endSign === 'frame' && stopReason === 'exited',
      onStarted: (event) => listener.onStarted(event),
      abortedBeforeStart: (now) => {
        const outcome = batchAbortedBeforeStartOutcome(
          ready.container.id,
          job.items,
          acquiredAt,
          now,
        );
        for (const item of outcome.items) listener.onItemFinished(item.itemId, item);
        return outcome;
      },
      outcome: (run) => {
        const items = frames.finish(unfinishedEnding(run.stopReason));
        return batchOutcomeOf({
          ...run,
          containerId: ready.container.id,
          ...frames.collected(),
          items,
        });
      },
    });
  }

  /**
   * What run() and runBatch() share: writes the payload and then the input files to the
   * ready container, stops it at its deadline or when the signal aborts, and waits for
   * the harness's final frame, or else for the container's end, which it inspects.
   */
  private async drive<T>(ready: ReadyContainer, run: DriveSpec<T>): Promise<Answer<T>> {
    const { container } = ready;
    const { signal, timeoutMs, acquiredAt } = run;
    // Aborted once the run is over, however it ended: no input file is sent past that.
    const stopInputFiles = new AbortController();
    const stopper = new RunStopper(signal, run.finalFrameSeen, () => killQuietly(container));
    try {
      if (signal.aborted) return { outcome: run.abortedBeforeStart(new Date()), atFrame: false };
      const startedAt = new Date();
      stopper.armDeadline(timeoutMs);
      run.onStarted({ containerId: container.id, startedAt });
      // Written, not ended: the harness reads a length-framed payload, so no half-close
      // has to travel through whatever stands between us and the engine.
      ready.stream.write(encodePayload(run.payload));
      // The input files' bytes follow the payload; the harness forks a worker once its
      // files are in place. Only a file that cannot be sent as announced ends the wait below.
      const inputFilesFailed = writeInputFiles(ready.stream, run.files, stopInputFiles.signal).then(
        () => new Promise<never>(() => undefined),
      );
      inputFilesFailed.catch(() => undefined); // once the run ended some other way

      // The engine's wait call is made only once the final frame did not settle the run:
      // a run whose harness answers costs one engine call fewer.
      const endSign = await Promise.race<RunEndSign>([
        inputFilesFailed,
        run.finalFrame.then(() => 'frame' as const),
        ready.ended.then(() => 'ended' as const),
        delay(timeoutMs + GIVE_UP_AFTER_DEADLINE_MS).then(() => 'ended' as const),
      ]);
      // Frames and the stop reason are read when the outcome is made: a frame may come
      // after the race above.
      const base = { acquiredAt, startedAt };
      if (run.answersAtFrame(endSign, stopper.reason)) {
        // The final frame is the harness's last word (PROTOCOL.md): answer now; the
        // container's own end and its removal come after, and change nothing.
        const imageId = this.imageIds.get(run.imageTag) ?? null;
        const outcome = run.outcome({
          ...base,
          endedAt: new Date(),
          stopReason: stopper.reason,
          container: containerAtExitFrame(imageId),
        });
        return { outcome, atFrame: true };
      }
      const exitCode = await this.awaitExit(container, ready.ended, timeoutMs);
      const endedAt = new Date();
      stopper.disarmDeadline();
      await Promise.race([ready.ended, delay(STREAM_DRAIN_MS)]);
      const state = await this.engineCall('inspect the container', () => container.inspect());
      const outcome = run.outcome({
        ...base,
        endedAt,
        stopReason: stopper.reason,
        container: {
          imageId: state.Image ?? null,
          containerExitCode: exitCode,
          oomKilled: state.State?.OOMKilled ?? false,
        },
      });
      return { outcome, atFrame: false };
    } finally {
      stopInputFiles.abort();
      stopper.dispose();
    }
  }

  /**
   * The container's exit code. The engine's wait call answers its headers at once and
   * may then hang forever if the connection drops, so the attach stream ending (or a
   * last-resort deadline) also ends the wait, and the engine is asked directly.
   */
  private async awaitExit(
    container: Docker.Container,
    streamEnded: Promise<void>,
    timeoutMs: number,
  ): Promise<number | null> {
    const waited = container.wait().then(
      (answer: unknown) => ({ kind: 'waited' as const, exitCode: statusCodeOfWait(answer) }),
      (error: unknown) => ({ kind: 'failed' as const, error }),
    );
    const settled = await Promise.race([
      waited,
      streamEnded
        .then(() => delay(STREAM_DRAIN_MS))
        .then(() => ({ kind: 'stream ended' as const })),
      delay(timeoutMs + GIVE_UP_AFTER_DEADLINE_MS).then(() => ({ kind: 'gave up' as const })),
    ]);
    switch (settled.kind) {
      case 'waited':
        return settled.exitCode;
      case 'failed':
        throw new EngineUnavailableError(
          `could not wait for the container: ${describe(settled.error)}`,
          {
            cause: settled.error,
          },
        );
      case 'stream ended':
      case 'gave up': {
        const state = await this.engineCall('inspect the container', () => container.inspect());
        if (state.State.Running) {
          throw new EngineUnavailableError('lost the connection to the running container');
        }
        return state.State.ExitCode;
      }
    }
  }

  private containerSpec(
    image: string,
    limits: ContainerLimits,
    jobLabel: string,
    command: readonly string[],
    preload: readonly string[] = [],
  ): Docker.ContainerCreateOptions {
    return {
      Image: image,
      Cmd: [...command],
      Env: [
        ...SANDBOX_ENV,
        // The harness takes it out of the environment before the job's code runs.
        ...(preload.length > 0 ? [`SANDBOX_PRELOAD=${preload.join(',')}`] : []),
      ],
      Labels: { [SANDBOX_LABEL]: this.options.instanceId, [JOB_LABEL]: jobLabel },
      ...sandboxContainerOptions(limits),
    };
  }

  /** Also the moment to remove what an engine outage left behind: probes ping often. */
  async ping(): Promise<void> {
    await this.engineCall('ping the engine', () => this.docker.ping());
    if (this.unremoved.size > 0) await this.retryRemovals();
  }

  async runtimes(): Promise<string[]> {
    const info: unknown = await this.engineCall('read the engine info', () => this.docker.info());
    return runtimeNamesOf(info);
  }

  async findImage(tag: string): Promise<EngineImage | null> {
    try {
      const image = await this.docker.getImage(tag).inspect();
      this.imageIds.set(tag, image.Id);
      return { id: image.Id, tag };
    } catch (error: unknown) {
      if (statusCodeOf(error) === 404) {
        this.imageIds.delete(tag);
        return null;
      }
      throw new EngineUnavailableError(`could not inspect image ${tag}: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  async removeLeftovers(): Promise<number> {
    const leftovers = await this.listOwn();
    await Promise.all(leftovers.map((info) => this.remove(info.Id)));
    return leftovers.length;
  }

  async countOwnContainers(): Promise<number> {
    return (await this.listOwn()).length;
  }

  watchEngine(onChange: (reason: string) => void): () => void {
    let stopped = false;
    let events: NodeJS.ReadableStream | null = null;
    const broken = (reason: string) => {
      if (stopped) return;
      stopped = true;
      onChange(reason);
    };
    this.docker
      .getEvents({ filters: { type: ['image'] } })
      .then((stream) => {
        events = stream;
        if (stopped) {
          destroy(stream);
          return;
        }
        // Any image event may concern our tag: the caller asks the engine again.
        stream.on('data', () => onChange('an image changed'));
        stream.once('end', () => broken('the engine closed its event stream'));
        stream.once('close', () => broken('the engine closed its event stream'));
        stream.once('error', (error) => broken(`the event stream failed: ${describe(error)}`));
      })
      .catch((error: unknown) => broken(`cannot follow engine events: ${describe(error)}`));
    return () => {
      stopped = true;
      if (events) destroy(events);
    };
  }

  private listOwn(): Promise<Docker.ContainerInfo[]> {
    return this.engineCall('list containers', () =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${SANDBOX_LABEL}=${this.options.instanceId}`] },
      }),
    );
  }

  private async engineCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error: unknown) {
      throw new EngineUnavailableError(`could not ${what}: ${describe(error)}`, { cause: error });
    }
  }
}

/** Kills the container, if it is still there: a stop that finds it gone has nothing to do. */
function killQuietly(container: Docker.Container): void {
  container.kill().catch(() => undefined);
}

function destroy(stream: NodeJS.ReadableStream): void {
  if (stream instanceof Readable) stream.destroy();
}

/** A hijacked attach is a socket: readable and writable, and destroyable. */
function asDuplex(stream: NodeJS.ReadWriteStream): Duplex {
  if (stream instanceof Duplex) return stream;
  throw new Error('the engine did not hand back a duplex attach stream');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The engine's info answer carries `Runtimes: { [name]: { path, runtimeArgs } }`. */
function runtimeNamesOf(info: unknown): string[] {
  if (typeof info === 'object' && info !== null && 'Runtimes' in info) {
    const { Runtimes } = info;
    if (typeof Runtimes === 'object' && Runtimes !== null) return Object.keys(Runtimes);
  }
  return [];
}

/** The engine's wait answer is `{ StatusCode: number }`. */
function statusCodeOfWait(waited: unknown): number | null {
  if (typeof waited === 'object' && waited !== null && 'StatusCode' in waited) {
    return typeof waited.StatusCode === 'number' ? waited.StatusCode : null;
  }
  return null;
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const { statusCode } = error;
    return typeof statusCode === 'number' ? statusCode : undefined;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
