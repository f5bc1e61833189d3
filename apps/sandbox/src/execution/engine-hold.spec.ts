import { EngineUnavailableError, ImageMissingError } from '@brain-net/runner';
import { EngineGate, EngineOutageError, runWhenEngineReady } from './engine-hold';

/** A gate whose readiness the spec sets, counting the checks it was asked for. */
class FakeGate implements EngineGate {
  ready = true;
  checks = 0;
  private wake: (() => void) | null = null;

  setReady(ready: boolean): void {
    this.ready = ready;
    if (ready) this.wake?.();
  }

  waitUntilReady(timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => resolve(this.ready && !signal.aborted);
      this.wake = done;
      setTimeout(done, timeoutMs).unref();
      signal.addEventListener('abort', done, { once: true });
    });
  }

  check(): Promise<void> {
    this.checks += 1;
    return Promise.resolve();
  }
}

describe('runWhenEngineReady', () => {
  it('runs at once when the engine is ready', async () => {
    const gate = new FakeGate();
    const result = await runWhenEngineReady(() => Promise.resolve('ran'), {
      gate,
      waitMs: 1000,
      signal: new AbortController().signal,
      hasStarted: () => false,
    });
    expect(result).toBe('ran');
  });

  it('waits through an outage and runs when the engine is back', async () => {
    const gate = new FakeGate();
    gate.ready = false;
    let attempts = 0;
    const running = runWhenEngineReady(
      () => {
        attempts += 1;
        return Promise.resolve('ran');
      },
      { gate, waitMs: 5000, signal: new AbortController().signal, hasStarted: () => false },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(attempts).toBe(0);
    gate.setReady(true);
    await expect(running).resolves.toBe('ran');
    expect(attempts).toBe(1);
  });

  it('sends a job back to wait when the engine fails before its container started', async () => {
    const gate = new FakeGate();
    const failures = [new EngineUnavailableError('connect ENOENT'), new ImageMissingError('img')];
    const result = await runWhenEngineReady(
      () => {
        const failure = failures.shift();
        return failure ? Promise.reject(failure) : Promise.resolve('ran');
      },
      { gate, waitMs: 10_000, signal: new AbortController().signal, hasStarted: () => false },
    );
    expect(result).toBe('ran');
    expect(gate.checks).toBe(2);
  });

  it("does not retry once the container started: that failure is the job's", async () => {
    const gate = new FakeGate();
    const lost = new EngineUnavailableError('lost the connection to the running container');
    await expect(
      runWhenEngineReady(() => Promise.reject(lost), {
        gate,
        waitMs: 10_000,
        signal: new AbortController().signal,
        hasStarted: () => true,
      }),
    ).rejects.toBe(lost);
  });

  it('does not retry what is not an engine failure', async () => {
    const gate = new FakeGate();
    const bug = new TypeError('a bug');
    await expect(
      runWhenEngineReady(() => Promise.reject(bug), {
        gate,
        waitMs: 10_000,
        signal: new AbortController().signal,
        hasStarted: () => false,
      }),
    ).rejects.toBe(bug);
  });

  it('gives up with a clear error after waitMs', async () => {
    const gate = new FakeGate();
    gate.ready = false;
    await expect(
      runWhenEngineReady(() => Promise.resolve('ran'), {
        gate,
        waitMs: 30,
        signal: new AbortController().signal,
        hasStarted: () => false,
      }),
    ).rejects.toThrow(EngineOutageError);
  });

  it('stops waiting when the job is cancelled', async () => {
    const gate = new FakeGate();
    gate.ready = false;
    const abort = new AbortController();
    const running = runWhenEngineReady(() => Promise.resolve('ran'), {
      gate,
      waitMs: 10_000,
      signal: abort.signal,
      hasStarted: () => false,
    });
    abort.abort();
    await expect(running).rejects.toThrow();
  });
});
