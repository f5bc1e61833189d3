import { Injectable, Logger } from '@nestjs/common';
import { DockerRunner, EngineImage, GVISOR_RUNTIME } from '@brain-net/runner';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { EngineGate } from './engine-hold';

export const IMAGE_BUILD_HINT =
  'build it with `npm run build:image` (scripts/build-runtime-image.sh)';

/** How to get the image of a runtime other than the default one. */
export const RUNTIME_IMAGE_HINT =
  'build or pull it (README, "Runtimes"; scripts/build-runtime-variant.sh builds the minimal one), or drop it from SANDBOX_RUNTIMES';

/** What is missing when the engine lacks SANDBOX_RUNTIME, and how to add it. */
export function runtimeMissingMessage(runtime: string, known: readonly string[]): string {
  const fix =
    runtime === GVISOR_RUNTIME
      ? "run scripts/provision-engine.sh as root on the engine's machine " +
        '(it installs gVisor and registers runsc)'
      : `register it under "runtimes" in the engine's daemon.json and reload the engine, ` +
        'or change SANDBOX_RUNTIME';
  const has = known.length > 0 ? known.join(', ') : 'none';
  return `the engine has no runtime '${runtime}' (SANDBOX_RUNTIME; it has ${has}): ${fix}`;
}

/** An engine that takes longer than this to answer a ping is as good as down. */
const ENGINE_ANSWER_MS = 5_000;

/** What the service last learnt about the engine and its runtime image. */
export type EngineState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'ready'; readonly image: EngineImage }
  | { readonly kind: 'engine-down'; readonly reason: string }
  | { readonly kind: 'image-missing' }
  | {
      readonly kind: 'runtime-missing';
      /** SANDBOX_RUNTIME, which the engine does not list among its runtimes. */
      readonly runtime: string;
      readonly message: string;
      /** The runtime image is there: only the runtime stops jobs. */
      readonly image: EngineImage;
    };

/**
 * Knows whether executions can run right now: the engine answers, has the runtime
 * image, and knows the container runtime SANDBOX_RUNTIME names (when one is set); and,
 * for each other runtime of SANDBOX_RUNTIMES, whether its image is there (a job of it
 * needs both). It asks the engine every ENGINE_CHECK_INTERVAL_MS and at once when the
 * engine's event stream says an image changed or breaks (the engine stopping), or when a
 * job's engine call failed. Probes and submits read the last answer; jobs wait for a good one.
 */
@Injectable()
export class EngineStatusService {
  private readonly logger = new Logger(EngineStatusService.name);
  private state: EngineState = { kind: 'unknown' };
  private checking: Promise<EngineState> | null = null;
  private recheck = false;
  /** What the last answer found under each configured image tag (the default's included). */
  private readonly images = new Map<string, EngineImage | null>();
  /** Jobs waiting for the engine, each settled once its image tag can run (or at stop()). */
  private readonly waiters = new Map<() => void, string>();
  private timer: NodeJS.Timeout | null = null;
  private stopWatching: (() => void) | null = null;

  constructor(
    private readonly runner: DockerRunner,
    private readonly config: AppConfig,
  ) {}

  /** The default runtime's image tag: the one `current` is about. */
  get tag(): string {
    return this.config.sandboxImage;
  }

  /** What the last answer found under a configured tag: null when missing, undefined before any. */
  imageOf(tag: string): EngineImage | null | undefined {
    return this.images.get(tag);
  }

  /**
   * Whether a job of this image tag can start now: the engine is ready (so the default
   * image is there too, and SANDBOX_RUNTIME known) and the tag's image is present.
   */
  isReadyFor(tag: string = this.tag): boolean {
    return this.state.kind === 'ready' && (tag === this.tag || Boolean(this.images.get(tag)));
  }

  get current(): EngineState {
    return this.state;
  }

  /** True once an instance that runs executions (ExecutionWorker) watches its engine. */
  get watching(): boolean {
    return this.timer !== null;
  }

  /** Starts watching the engine; an instance that runs nothing (ROLE=api) never does. */
  async watch(): Promise<void> {
    this.timer = setInterval(() => void this.check(), this.config.engineCheckIntervalMs);
    this.timer.unref();
    await this.check();
  }

  /** At shutdown, once the executions drained. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    // No timer also tells a check still under way not to follow the engine again: its
    // event stream would outlive the application and keep the process alive.
    this.timer = null;
    this.stopWatching?.();
    this.stopWatching = null;
    for (const settle of [...this.waiters.keys()]) settle();
  }

  /** Asks the engine now; concurrent callers share one round trip. */
  check(): Promise<EngineState> {
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = this.ask().finally(() => {
      this.checking = null;
      if (this.recheck) {
        this.recheck = false;
        void this.check();
      }
    });
    return this.checking;
  }

  /** A job's engine call failed: the engine or the image may be gone. */
  reportFailure(): void {
    void this.check();
  }

  /** Throws the 503 a submit gets while executions of this image tag cannot run. */
  requireReady(tag: string = this.tag): void {
    const state = this.state;
    const retryAfterS = Math.max(1, Math.ceil(this.config.engineCheckIntervalMs / 1000));
    switch (state.kind) {
      case 'ready':
        if (this.isReadyFor(tag)) return;
        throw new DomainError(
          'RUNTIME_IMAGE_MISSING',
          `The runtime image ${tag} is not on the Docker engine: ${RUNTIME_IMAGE_HINT}.`,
          { retryAfterS },
        );
      case 'runtime-missing':
        throw new DomainError('RUNTIME_UNAVAILABLE', `Executions cannot run: ${state.message}.`, {
          retryAfterS,
        });
      case 'image-missing':
        throw new DomainError(
          'RUNTIME_IMAGE_MISSING',
          `The runtime image ${this.tag} is not on the Docker engine: ${IMAGE_BUILD_HINT}.`,
          { retryAfterS },
        );
      case 'engine-down':
        throw new DomainError(
          'ENGINE_UNAVAILABLE',
          `The Docker engine is unreachable: ${state.reason}`,
          { retryAfterS },
        );
      case 'unknown':
        throw new DomainError('ENGINE_UNAVAILABLE', 'The Docker engine has not answered yet.', {
          retryAfterS,
        });
    }
  }

  /**
   * Resolves true as soon as a job of the image tag can start (at once if it can: see
   * isReadyFor), false if it still cannot after `timeoutMs` or when `signal` aborts.
   */
  waitUntilReady(timeoutMs: number, signal: AbortSignal, tag: string = this.tag): Promise<boolean> {
    if (this.isReadyFor(tag)) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const settle = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', settle);
        this.waiters.delete(settle);
        resolve(this.isReadyFor(tag) && !signal.aborted);
      };
      const timer = setTimeout(settle, timeoutMs);
      signal.addEventListener('abort', settle, { once: true });
      this.waiters.set(settle, tag);
    });
  }

  /** What a job of this image tag waits on (runWhenEngineReady). */
  gateFor(tag: string): EngineGate {
    return {
      waitUntilReady: (timeoutMs, signal) => this.waitUntilReady(timeoutMs, signal, tag),
      check: () => this.check(),
    };
  }

  private async ask(): Promise<EngineState> {
    let next: EngineState;
    try {
      await withDeadline(this.runner.ping(), ENGINE_ANSWER_MS, 'ping');
      const tags = this.config.runtimes.all.map((runtime) => runtime.image);
      const found = await Promise.all(
        tags.map((tag) =>
          withDeadline(this.runner.findImage(tag), ENGINE_ANSWER_MS, 'image lookup'),
        ),
      );
      tags.forEach((tag, i) => this.noteImage(tag, found[i]));
      const image = this.images.get(this.tag) ?? null;
      next = image ? await this.withRuntime(image) : { kind: 'image-missing' };
    } catch (error: unknown) {
      next = {
        kind: 'engine-down',
        reason: error instanceof Error ? error.message : String(error),
      };
    }
    this.update(next);
    return next;
  }

  /** Ready, unless SANDBOX_RUNTIME names a runtime the engine does not have. */
  private async withRuntime(image: EngineImage): Promise<EngineState> {
    const runtime = this.config.limits.runtime;
    if (!runtime) return { kind: 'ready', image };
    const known = await withDeadline(this.runner.runtimes(), ENGINE_ANSWER_MS, 'info');
    if (known.includes(runtime)) return { kind: 'ready', image };
    return {
      kind: 'runtime-missing',
      runtime,
      message: runtimeMissingMessage(runtime, known),
      image,
    };
  }

  private update(next: EngineState): void {
    const previous = this.state;
    this.state = next;
    if (next.kind !== previous.kind) this.logChange(next);
    if (next.kind === 'engine-down') {
      this.stopWatching?.();
      this.stopWatching = null;
    } else if (!this.stopWatching && this.timer) {
      // Follow the engine once it answers: its events turn us red within moments. Any
      // event (an image changed, or the stream broke) means: follow anew and ask again.
      this.stopWatching = this.runner.watchEngine(() => {
        this.stopWatching?.();
        this.stopWatching = null;
        void this.check();
      });
    }
    for (const [settle, tag] of [...this.waiters]) if (this.isReadyFor(tag)) settle();
  }

  /** Keeps what the engine has under a tag; logs an image of another runtime going or coming. */
  private noteImage(tag: string, image: EngineImage | null): void {
    const before = this.images.get(tag);
    this.images.set(tag, image);
    // The default image's changes are logged with the state (logChange).
    if (tag === this.tag) return;
    const changed = before === undefined ? image === null : Boolean(before) !== Boolean(image);
    if (!changed) return;
    const runtime = this.config.runtimes.all.find((candidate) => candidate.image === tag);
    const name = runtime ? `runtime ${runtime.name}'s image ${tag}` : `image ${tag}`;
    if (image) this.logger.log(`${name} is ${image.id}`);
    else this.logger.error(`${name} is missing: ${RUNTIME_IMAGE_HINT}`);
  }

  private logChange(next: EngineState): void {
    switch (next.kind) {
      case 'ready':
        this.logger.log(`the engine is ready; runtime image ${this.tag} is ${next.image.id}`);
        return;
      case 'image-missing':
        this.logger.error(`runtime image ${this.tag} is missing: ${IMAGE_BUILD_HINT}`);
        return;
      case 'runtime-missing':
        this.logger.error(next.message);
        return;
      case 'engine-down':
        this.logger.error(`the Docker engine is unavailable: ${next.reason}`);
        return;
      case 'unknown':
        return;
    }
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the engine's ${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
