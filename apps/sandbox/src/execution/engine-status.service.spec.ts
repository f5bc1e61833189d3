import { Logger } from '@nestjs/common';
import {
  BatchRunOutcome,
  DockerRunner,
  EngineImage,
  EngineUnavailableError,
  HarnessDelivery,
  ImageInventory,
  RunOutcome,
} from '@brain-net/runner';
import { loadConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { EngineStatusService } from './engine-status.service';

/** An engine the spec switches on and off, and whose image it can take away. */
class FakeEngine extends DockerRunner {
  up = true;
  image: EngineImage | null = { id: 'sha256:1', tag: 'img' };
  runtimeNames = ['runc'];
  /** Tags of other runtimes' images the engine lacks. */
  readonly missingTags = new Set<string>();
  watchers: ((reason: string) => void)[] = [];

  run(): Promise<RunOutcome> {
    return Promise.reject(new Error('not used'));
  }
  runBatch(): Promise<BatchRunOutcome> {
    return Promise.reject(new Error('not used'));
  }
  ping(): Promise<void> {
    return this.up
      ? Promise.resolve()
      : Promise.reject(new EngineUnavailableError('connect ENOENT'));
  }
  runtimes(): Promise<string[]> {
    return this.up
      ? Promise.resolve([...this.runtimeNames])
      : Promise.reject(new EngineUnavailableError('down'));
  }
  findImage(tag: string): Promise<EngineImage | null> {
    if (!this.up) return Promise.reject(new EngineUnavailableError('down'));
    if (this.missingTags.has(tag)) return Promise.resolve(null);
    return Promise.resolve(this.image && { ...this.image, tag });
  }
  harnessDelivery(): HarnessDelivery {
    return { form: 'source' };
  }
  probeImage(): Promise<ImageInventory> {
    return Promise.reject(new Error('not used'));
  }
  warmUp(): void {}
  removeLeftovers(): Promise<number> {
    return Promise.resolve(0);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  countOwnContainers(): Promise<number> {
    return Promise.resolve(0);
  }
  watchEngine(onChange: (reason: string) => void): () => void {
    this.watchers.push(onChange);
    return () => {
      this.watchers = this.watchers.filter((watcher) => watcher !== onChange);
    };
  }
  /** What the engine's event stream does when it stops or an image changes. */
  emit(reason: string): void {
    for (const watcher of [...this.watchers]) watcher(reason);
  }
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 10));

describe('EngineStatusService', () => {
  let engine: FakeEngine;
  let status: EngineStatusService;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(async () => {
    engine = new FakeEngine();
    // A long interval: the spec shows the events alone turn the state.
    status = new EngineStatusService(engine, loadConfig({ ENGINE_CHECK_INTERVAL_MS: '60000' }));
    await status.watch();
  });
  afterEach(() => status.stop());

  it('is ready when the engine answers and has the image, and follows its events', () => {
    expect(status.current.kind).toBe('ready');
    expect(engine.watchers).toHaveLength(1);
    expect(() => status.requireReady()).not.toThrow();
  });

  it('turns down as soon as the engine event stream breaks, and refuses submits with a retry hint', async () => {
    engine.up = false;
    engine.emit('the engine closed its event stream');
    await settle();
    expect(status.current.kind).toBe('engine-down');
    expect(() => status.requireReady()).toThrow(DomainError);
    try {
      status.requireReady();
    } catch (error: unknown) {
      expect(error).toMatchObject({ code: 'ENGINE_UNAVAILABLE', details: { retryAfterS: 60 } });
    }
  });

  it('notices an untagged image from the event and says how to build it', async () => {
    engine.image = null;
    engine.emit('an image changed');
    await settle();
    expect(status.current.kind).toBe('image-missing');
    expect(() => status.requireReady()).toThrow(/npm run build:image/);
  });

  it('wakes waiting jobs when the engine is back', async () => {
    engine.up = false;
    await status.check();
    const waiting = status.waitUntilReady(10_000, new AbortController().signal);
    engine.up = true;
    await status.check();
    await expect(waiting).resolves.toBe(true);
    expect(engine.watchers).toHaveLength(1);
  });

  it('lets a waiting job give up at its deadline or when cancelled', async () => {
    engine.up = false;
    await status.check();
    await expect(status.waitUntilReady(20, new AbortController().signal)).resolves.toBe(false);
    const abort = new AbortController();
    const cancelled = status.waitUntilReady(10_000, abort.signal);
    abort.abort();
    await expect(cancelled).resolves.toBe(false);
  });

  it('follows no events after shutdown, even from a check that ends after it', async () => {
    engine.emit('an image changed'); // the watch stops; a check is under way
    status.stop();
    await settle();
    // A stream opened now would keep the process alive with nothing left to close it.
    expect(engine.watchers).toHaveLength(0);
  });

  it('shares one round trip among concurrent checks', async () => {
    const ping = jest.spyOn(engine, 'ping');
    await Promise.all([status.check(), status.check(), status.check()]);
    // One check, plus one more for the checks that arrived while it ran.
    expect(ping.mock.calls.length).toBeLessThanOrEqual(2);
  });
});

describe('EngineStatusService with SANDBOX_RUNTIME', () => {
  let engine: FakeEngine;
  let status: EngineStatusService;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  async function start(runtime: string): Promise<void> {
    status = new EngineStatusService(
      engine,
      loadConfig({ ENGINE_CHECK_INTERVAL_MS: '60000', SANDBOX_RUNTIME: runtime }),
    );
    await status.watch();
  }

  beforeEach(() => {
    engine = new FakeEngine();
  });
  afterEach(() => status.stop());

  it('is ready when the engine knows the runtime', async () => {
    engine.runtimeNames = ['runc', 'runsc'];
    await start('runsc');
    expect(status.current.kind).toBe('ready');
  });

  it('refuses submits with 503 RUNTIME_UNAVAILABLE and says how to register runsc', async () => {
    await start('runsc');
    expect(status.current).toMatchObject({ kind: 'runtime-missing', runtime: 'runsc' });
    expect(() => status.requireReady()).toThrow(DomainError);
    try {
      status.requireReady();
    } catch (error: unknown) {
      expect(error).toMatchObject({ code: 'RUNTIME_UNAVAILABLE', details: { retryAfterS: 60 } });
      expect((error as DomainError).status).toBe(503);
      expect((error as DomainError).message).toContain(
        "the engine has no runtime 'runsc' (SANDBOX_RUNTIME; it has runc): " +
          'run scripts/provision-engine.sh',
      );
    }
  });

  it('names any other missing runtime and how to add it', async () => {
    await start('no-such-runtime');
    expect(() => status.requireReady()).toThrow(
      /no runtime 'no-such-runtime'.*daemon\.json.*SANDBOX_RUNTIME/,
    );
  });

  it('turns ready at the next check once the runtime is registered, and wakes waiting jobs', async () => {
    await start('runsc');
    const waiting = status.waitUntilReady(10_000, new AbortController().signal);
    engine.runtimeNames = ['runc', 'runsc'];
    await status.check();
    await expect(waiting).resolves.toBe(true);
  });

  it('reports an image that is missing before asking for the runtime', async () => {
    engine.image = null;
    const runtimes = jest.spyOn(engine, 'runtimes');
    await start('runsc');
    expect(status.current.kind).toBe('image-missing');
    expect(runtimes).not.toHaveBeenCalled();
  });

  it("never asks for runtimes when the engine's default runtime is used", async () => {
    const runtimes = jest.spyOn(engine, 'runtimes');
    await start('');
    expect(status.current.kind).toBe('ready');
    expect(runtimes).not.toHaveBeenCalled();
  });
});

describe('EngineStatusService with several runtimes (SANDBOX_RUNTIMES)', () => {
  const DEFAULT_IMAGE = 'runtime:3.11';
  const MINIMAL_IMAGE = 'runtime-minimal:3.11';
  let engine: FakeEngine;
  let status: EngineStatusService;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    engine = new FakeEngine();
    status = new EngineStatusService(
      engine,
      loadConfig({
        ENGINE_CHECK_INTERVAL_MS: '60000',
        SANDBOX_RUNTIMES: `python-3.11=${DEFAULT_IMAGE},python-3.11-minimal=${MINIMAL_IMAGE}`,
      }),
    );
  });
  afterEach(() => status.stop());

  it('checks every runtime’s image, and runs each runtime’s jobs once its image is there', async () => {
    await status.watch();
    expect(status.imageOf(MINIMAL_IMAGE)).toMatchObject({ tag: MINIMAL_IMAGE });
    expect(status.isReadyFor(MINIMAL_IMAGE)).toBe(true);
    expect(() => status.requireReady(MINIMAL_IMAGE)).not.toThrow();
  });

  it('refuses the jobs of a runtime whose image is missing, and only those', async () => {
    engine.missingTags.add(MINIMAL_IMAGE);
    await status.watch();
    // The default runtime is as ready as ever.
    expect(status.current.kind).toBe('ready');
    expect(() => status.requireReady()).not.toThrow();
    expect(status.imageOf(MINIMAL_IMAGE)).toBeNull();
    try {
      status.requireReady(MINIMAL_IMAGE);
      throw new Error('not refused');
    } catch (error: unknown) {
      expect(error).toMatchObject({ code: 'RUNTIME_IMAGE_MISSING', details: { retryAfterS: 60 } });
      expect((error as DomainError).message).toContain(
        `${MINIMAL_IMAGE} is not on the Docker engine`,
      );
      expect((error as DomainError).message).toContain('SANDBOX_RUNTIMES');
    }
  });

  it('holds a waiting job of that runtime until its image comes, leaving the others alone', async () => {
    engine.missingTags.add(MINIMAL_IMAGE);
    await status.watch();
    const signal = new AbortController().signal;
    await expect(status.gateFor(DEFAULT_IMAGE).waitUntilReady(10_000, signal)).resolves.toBe(true);
    const waiting = status.gateFor(MINIMAL_IMAGE).waitUntilReady(10_000, signal);
    await status.check(); // still missing: the job keeps waiting
    engine.missingTags.delete(MINIMAL_IMAGE);
    await status.check();
    await expect(waiting).resolves.toBe(true);
    await expect(status.waitUntilReady(20, signal, 'runtime-gone:1')).resolves.toBe(false);
  });

  it('runs no runtime’s jobs while the default image is missing', async () => {
    engine.image = null;
    await status.watch();
    expect(status.isReadyFor(MINIMAL_IMAGE)).toBe(false);
    expect(() => status.requireReady(MINIMAL_IMAGE)).toThrow(/npm run build:image/);
  });
});
