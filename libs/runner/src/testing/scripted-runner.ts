import { batchAbortedBeforeStartOutcome, batchOutcomeOf, itemOutcomeOf } from '../batch-outcome';
import {
  BatchRunListener,
  BatchRunOutcome,
  DockerRunner,
  EngineImage,
  HarnessDelivery,
  ImageMissingError,
  ItemOutcome,
  RunListener,
  RunOutcome,
  SandboxBatchItem,
  SandboxBatchJob,
  SandboxJob,
  StopReason,
} from '../docker-runner';
import type { ContainerLimits } from '../container-limits';
import { HarnessExit, OutputStream } from '../harness/harness-protocol';
import type { ImageInventory } from '../image-inventory';

/** A promise the spec settles itself: what a held script waits for. */
export class Deferred<T = void> {
  readonly promise: Promise<T>;
  private settled = false;
  private resolveWith!: (value: T) => void;
  private rejectWith!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveWith = resolve;
      this.rejectWith = reject;
    });
    // A deferred nobody waits on must not turn a rejection into an unhandled one.
    this.promise.catch(() => undefined);
  }

  get isSettled(): boolean {
    return this.settled;
  }

  resolve(value: T): void {
    this.settled = true;
    this.resolveWith(value);
  }

  reject(error: unknown): void {
    this.settled = true;
    this.rejectWith(error);
  }
}

/** What a held script waits for: a Deferred, or any promise the spec settles. */
export interface Hold {
  readonly promise: Promise<unknown>;
}

/** What a run rejects with once its signal aborted (ScriptedRunner's `abort: 'reject'`). */
export class RunAbortedError extends Error {
  constructor(readonly jobId: string) {
    super(`the run of job ${jobId} was aborted`);
    this.name = 'AbortError';
  }
}

/**
 * How a run answers an abort of its signal while it is held:
 * - `reject`: rejects with a RunAbortedError (an AbortError);
 * - `outcome`: resolves an outcome with stopReason `aborted`, as DockerodeRunner does once
 *   it has killed the container;
 * - `ignore`: keeps waiting for its release (a container that will not die).
 */
export type AbortAnswer = 'reject' | 'outcome' | 'ignore';

/** What one run of a job does, in this order: start, output, hold, fail or resolve. */
export interface RunScript {
  /** Waited for before the container "starts" (before onStarted): a slow create, say. */
  readonly holdBeforeStart?: Hold;
  /** False: never calls onStarted (a failure before the container started). Default true. */
  readonly start?: boolean;
  /** Chunks sent through onOutput right after the start, in order. */
  readonly output?: readonly { readonly stream: OutputStream; readonly data: string }[];
  /** Waited for after the output: the job runs until the spec resolves it. */
  readonly hold?: Hold;
  /** How an abort while held (or before the run) is answered; default `reject`. */
  readonly abort?: AbortAnswer;
  /** Thrown instead of resolving (after the start, unless `start` is false). */
  readonly fail?: Error;
  /** Fields of the harness exit frame over the defaults; null: the harness sent none. */
  readonly exit?: Partial<HarnessExit> | null;
  /** Fields of the outcome over the computed ones (stopReason, oomKilled...). */
  readonly outcome?: Partial<RunOutcome>;
}

/** What one item of a scripted batch does: its output, then its end. */
export interface BatchItemScript {
  /** Chunks sent through onItemOutput after onItemStarted, in order. */
  readonly output?: readonly { readonly stream: OutputStream; readonly data: string }[];
  /**
   * Fields of its exit frame over the defaults (`{ signal: 9 }` reads as an OOM kill);
   * null: the harness never reported it (ending `lost`).
   */
  readonly exit?: Partial<HarnessExit> | null;
  /** The harness could not run it: ending `harness_error`, and it never starts. */
  readonly harnessError?: string;
}

/** What a runBatch() does: start, hold, then each item's script in order, or fail. */
export interface BatchScript {
  /** Waited for after the start, before any item: an abort meanwhile ends every item `aborted`. */
  readonly hold?: Hold;
  /** Each item's script; default: a clean exit with no output. */
  readonly items?: (item: SandboxBatchItem, index: number) => BatchItemScript;
  /** Thrown after the start instead of resolving. */
  readonly fail?: Error;
  /** Fields of the batch outcome over the computed ones. */
  readonly outcome?: Partial<BatchRunOutcome>;
}

/** Which jobs a script is for: a job id, a job's code, or any test of the job. */
export type JobMatch = string | ((job: SandboxJob) => boolean);

/** A job given to the runner, and what became of that run. */
export interface ScriptedRun {
  readonly job: SandboxJob;
  /** 0 for a job's first run, 1 for its retry... */
  readonly attempt: number;
  started: boolean;
  aborted: boolean;
  settled: 'resolved' | 'rejected' | null;
}

interface Rule {
  readonly match: JobMatch;
  readonly scripts: readonly RunScript[];
}

export const SCRIPTED_IMAGE_ID = 'sha256:scripted';
export const SCRIPTED_CONTAINER_PREFIX = 'scripted-';

/** What probeImage() finds in an image the spec gave no inventory of. */
export const SCRIPTED_INVENTORY: Omit<ImageInventory, 'imageId'> = {
  pythonVersion: '3.11.2',
  packages: [
    { name: 'numpy', version: '1.24.2' },
    { name: 'pandas', version: '1.5.3' },
  ],
  modules: ['json', 'numpy', 'os', 'pandas', 'sys'],
};

/** The exit frame of a harness whose code ran cleanly. */
export function harnessExit(overrides: Partial<HarnessExit> = {}): HarnessExit {
  return {
    exit_code: 0,
    signal: null,
    harness_timeout: false,
    max_rss_kb: 20_480,
    cpu_time_ms: 42,
    stdout_bytes: 0,
    stderr_bytes: 0,
    result: {
      duration_ms: 12.5,
      exceptions: [],
      variables_after: {},
      variables_omitted: 0,
      figures: null,
      figures_omitted: 0,
      profile: null,
    },
    result_error: null,
    output_files: null,
    ...overrides,
  };
}

/**
 * A DockerRunner for unit specs: no engine, each run plays a script. Scripts are chosen
 * per job (`script`), else `defaultScript` (start, its output, a clean exit). A job with
 * several scripts plays them on its successive runs (retries); the last one repeats.
 * Records every job it was given and the most runs it had at once.
 */
export class ScriptedRunner extends DockerRunner {
  defaultScript: RunScript = {};
  /** What every runBatch() plays. */
  batchScript: BatchScript = {};
  /** Every batch given to runBatch(), in order. */
  readonly batches: SandboxBatchJob[] = [];
  /** Containers the next removeLeftovers() reports. */
  leftovers = 0;
  warmUps = 0;
  /** Image ids by tag; a tag not listed is there as SCRIPTED_IMAGE_ID, one listed as null is missing. */
  readonly images = new Map<string, string | null>();
  /** What probeImage() reads, by image id; an id not listed holds SCRIPTED_INVENTORY. */
  readonly inventories = new Map<string, Omit<ImageInventory, 'imageId'>>();
  /** Every probeImage() call: its tag and limits, in order. */
  readonly probes: { readonly tag: string; readonly limits: ContainerLimits }[] = [];
  readonly runs: ScriptedRun[] = [];
  private readonly rules: Rule[] = [];
  private active = 0;
  private maxActive = 0;
  private readonly startWaiters: { match: JobMatch; resolve: (job: SandboxJob) => void }[] = [];

  /** Plays these scripts for the matching jobs (a string matches a job id or a job's code). */
  script(match: JobMatch, ...scripts: RunScript[]): this {
    if (scripts.length === 0) throw new Error('script() needs at least one script');
    this.rules.push({ match, scripts });
    return this;
  }

  /** Every job given to run(), in order (a retried job appears again). */
  get jobs(): SandboxJob[] {
    return this.runs.map((run) => run.job);
  }

  /** Runs in progress now. */
  get running(): number {
    return this.active;
  }

  /** The most runs that were in progress at once. */
  get maxConcurrency(): number {
    return this.maxActive;
  }

  /** Resolves with the first matching job once it has started (at once if it has). */
  whenStarted(match: JobMatch = () => true): Promise<SandboxJob> {
    const started = this.runs.find((run) => run.started && matches(match, run.job));
    if (started) return Promise.resolve(started.job);
    return new Promise((resolve) => this.startWaiters.push({ match, resolve }));
  }

  async run(job: SandboxJob, listener: RunListener, signal: AbortSignal): Promise<RunOutcome> {
    const attempt = this.runs.filter((run) => run.job.jobId === job.jobId).length;
    const record: ScriptedRun = { job, attempt, started: false, aborted: false, settled: null };
    this.runs.push(record);
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    const onAbort = () => (record.aborted = true);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = await this.play(this.scriptFor(job, attempt), job, listener, signal, record);
      record.settled = 'resolved';
      return outcome;
    } catch (error: unknown) {
      record.settled = 'rejected';
      throw error;
    } finally {
      record.aborted ||= signal.aborted;
      signal.removeEventListener('abort', onAbort);
      this.active -= 1;
    }
  }

  override async runBatch(
    job: SandboxBatchJob,
    listener: BatchRunListener,
    signal: AbortSignal,
  ): Promise<BatchRunOutcome> {
    this.batches.push(job);
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await this.playBatch(this.batchScript, job, listener, signal);
    } finally {
      this.active -= 1;
    }
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  runtimes(): Promise<string[]> {
    return Promise.resolve(['runc']);
  }

  findImage(tag: string): Promise<EngineImage | null> {
    const id = this.images.has(tag) ? this.images.get(tag) : SCRIPTED_IMAGE_ID;
    return Promise.resolve(id ? { id, tag } : null);
  }

  async probeImage(tag: string, limits: ContainerLimits): Promise<ImageInventory> {
    this.probes.push({ tag, limits });
    const image = await this.findImage(tag);
    if (!image) throw new ImageMissingError(tag);
    return { imageId: image.id, ...(this.inventories.get(image.id) ?? SCRIPTED_INVENTORY) };
  }

  harnessDelivery(): HarnessDelivery {
    return { form: 'source' };
  }

  warmUp(): void {
    this.warmUps += 1;
  }

  removeLeftovers(): Promise<number> {
    const removed = this.leftovers;
    this.leftovers = 0;
    return Promise.resolve(removed);
  }

  /** Scripted runs hold no containers: nothing to remove. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  countOwnContainers(): Promise<number> {
    return Promise.resolve(this.active);
  }

  watchEngine(): () => void {
    return () => undefined;
  }

  private scriptFor(job: SandboxJob, attempt: number): RunScript {
    for (let index = this.rules.length - 1; index >= 0; index -= 1) {
      const { match, scripts } = this.rules[index];
      if (matches(match, job)) return scripts[Math.min(attempt, scripts.length - 1)];
    }
    return this.defaultScript;
  }

  private async play(
    script: RunScript,
    job: SandboxJob,
    listener: RunListener,
    signal: AbortSignal,
    record: ScriptedRun,
  ): Promise<RunOutcome> {
    const containerId = `${SCRIPTED_CONTAINER_PREFIX}${job.jobId}-${record.attempt}`;
    const acquiredAt = Date.now();
    const answer = script.abort ?? 'reject';
    if (script.holdBeforeStart) await held(script.holdBeforeStart, signal, answer);
    if (signal.aborted && answer !== 'ignore') {
      // Like DockerodeRunner: an abort before the start never starts the container.
      if (answer === 'reject') throw new RunAbortedError(job.jobId);
      return this.outcomeOf(script, containerId, acquiredAt, new Date(), 'aborted', null);
    }
    const startedAt = new Date();
    if (script.start !== false) {
      record.started = true;
      listener.onStarted({ containerId, startedAt });
      this.wakeStartWaiters(job);
    }
    const written = { stdout: 0, stderr: 0 };
    for (const chunk of script.output ?? []) {
      written[chunk.stream] += Buffer.byteLength(chunk.data, 'utf8');
      listener.onOutput(chunk.stream, chunk.data);
    }
    let stopReason: StopReason = 'exited';
    if (script.hold) {
      const how = await held(script.hold, signal, answer);
      if (how === 'aborted') {
        if (answer === 'reject') throw new RunAbortedError(job.jobId);
        stopReason = 'aborted';
      }
    }
    if (script.fail) throw script.fail;
    const exit =
      script.exit === null || stopReason === 'aborted'
        ? null
        : harnessExit({
            stdout_bytes: written.stdout,
            stderr_bytes: written.stderr,
            // A job that asks for output files is told its code left none, unless scripted.
            output_files: job.payload.output_files
              ? { sent: 0, omitted: [], omitted_count: 0 }
              : null,
            ...script.exit,
          });
    return this.outcomeOf(script, containerId, acquiredAt, startedAt, stopReason, exit);
  }

  private outcomeOf(
    script: RunScript,
    containerId: string,
    acquiredAt: number,
    startedAt: Date,
    stopReason: StopReason,
    exit: HarnessExit | null,
  ): RunOutcome {
    const endedAt = new Date();
    return {
      containerId,
      imageId: SCRIPTED_IMAGE_ID,
      startedAt,
      endedAt,
      stopReason,
      containerExitCode: stopReason === 'aborted' ? 137 : (exit?.exit_code ?? 1),
      oomKilled: false,
      exit,
      truncated: { stdout: false, stderr: false },
      harnessError: null,
      outputFiles: exit?.output_files
        ? {
            files: [],
            omitted: exit.output_files.omitted,
            omittedCount: exit.output_files.omitted_count,
          }
        : null,
      figures: null,
      diagnostics: '',
      timings: {
        containerStartMs: Math.max(0, startedAt.getTime() - acquiredAt),
        runMs: Math.max(0, endedAt.getTime() - startedAt.getTime()),
      },
      ...script.outcome,
    };
  }

  private async playBatch(
    script: BatchScript,
    job: SandboxBatchJob,
    listener: BatchRunListener,
    signal: AbortSignal,
  ): Promise<BatchRunOutcome> {
    const containerId = `${SCRIPTED_CONTAINER_PREFIX}${job.jobId}-batch-${this.batches.length}`;
    const acquiredAt = Date.now();
    if (signal.aborted) {
      const outcome = batchAbortedBeforeStartOutcome(
        containerId,
        job.items,
        acquiredAt,
        new Date(),
      );
      for (const item of outcome.items) listener.onItemFinished(item.itemId, item);
      return outcome;
    }
    const startedAt = new Date();
    listener.onStarted({ containerId, startedAt });
    let stopReason: StopReason = 'exited';
    if (script.hold && (await held(script.hold, signal, 'outcome')) === 'aborted') {
      stopReason = 'aborted';
    }
    if (script.fail) throw script.fail;
    const items = job.items.map((item, index): ItemOutcome => {
      if (signal.aborted) stopReason = 'aborted';
      const record = {
        itemId: item.itemId,
        index,
        startedAt: null as Date | null,
        truncated: { stdout: false, stderr: false },
      };
      const itemScript = stopReason === 'aborted' ? null : (script.items?.(item, index) ?? {});
      let outcome: ItemOutcome;
      if (itemScript === null) {
        outcome = itemOutcomeOf(record, {
          ending: 'aborted',
          exit: null,
          harnessError: null,
          outputFiles: null,
          figures: null,
          endedAt: new Date(),
        });
      } else if (itemScript.harnessError !== undefined) {
        outcome = itemOutcomeOf(record, {
          ending: 'harness_error',
          exit: null,
          harnessError: itemScript.harnessError,
          outputFiles: null,
          figures: null,
          endedAt: new Date(),
        });
      } else {
        record.startedAt = new Date();
        listener.onItemStarted(item.itemId, record.startedAt);
        const written = { stdout: 0, stderr: 0 };
        for (const chunk of itemScript.output ?? []) {
          written[chunk.stream] += Buffer.byteLength(chunk.data, 'utf8');
          listener.onItemOutput(item.itemId, chunk.stream, chunk.data);
        }
        const exit =
          itemScript.exit === null
            ? null
            : harnessExit({
                stdout_bytes: written.stdout,
                stderr_bytes: written.stderr,
                output_files: item.payload.output_files
                  ? { sent: 0, omitted: [], omitted_count: 0 }
                  : null,
                ...itemScript.exit,
              });
        outcome = itemOutcomeOf(record, {
          ending: exit === null ? 'lost' : 'exited',
          exit,
          harnessError: null,
          outputFiles: exit?.output_files
            ? {
                files: [],
                omitted: exit.output_files.omitted,
                omittedCount: exit.output_files.omitted_count,
              }
            : null,
          figures: null,
          endedAt: new Date(),
        });
      }
      listener.onItemFinished(item.itemId, outcome);
      return outcome;
    });
    return {
      ...batchOutcomeOf({
        containerId,
        acquiredAt,
        startedAt,
        endedAt: new Date(),
        stopReason,
        container: {
          imageId: SCRIPTED_IMAGE_ID,
          containerExitCode: stopReason === 'aborted' ? 137 : null,
          oomKilled: false,
        },
        completed: stopReason === 'exited',
        harnessError: null,
        diagnostics: '',
        items,
      }),
      ...script.outcome,
    };
  }

  private wakeStartWaiters(job: SandboxJob): void {
    for (const waiter of [...this.startWaiters]) {
      if (!matches(waiter.match, job)) continue;
      this.startWaiters.splice(this.startWaiters.indexOf(waiter), 1);
      waiter.resolve(job);
    }
  }
}

function matches(match: JobMatch, job: SandboxJob): boolean {
  if (typeof match === 'function') return match(job);
  return job.jobId === match || job.payload.code === match;
}

/** Waits for the spec's release, or for the abort when the script honours it. */
function held(
  release: Hold,
  signal: AbortSignal,
  answer: AbortAnswer,
): Promise<'released' | 'aborted'> {
  const released = release.promise.then(() => 'released' as const);
  if (answer === 'ignore') return released;
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    released.then(
      (how) => {
        signal.removeEventListener('abort', onAbort);
        resolve(how);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
