import { setTimeout as sleep } from 'node:timers/promises';
import { EngineUnavailableError } from '@brain-net/runner';

/** What holding a job needs to know about the engine (EngineStatusService in the app). */
export interface EngineGate {
  waitUntilReady(timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  /** Asks the engine again; settles once it has answered. */
  check(): Promise<unknown>;
}

/** The engine (or the runtime image) stayed away longer than a job may wait for it. */
export class EngineOutageError extends Error {
  constructor(waitedMs: number) {
    super(
      `the Docker engine or the runtime image was unavailable for ${Math.round(waitedMs / 1000)} s; submit it again`,
    );
    this.name = 'EngineOutageError';
  }
}

/** Pause between two attempts the engine refused although it answered its ping. */
const RETRY_PAUSE_MS = [250, 1000, 2000, 5000];

/**
 * Runs `start` once the engine is ready, holding the job through an outage: a failure
 * of the engine before the job's container started (create, attach, start, a missing
 * image) sends it back to wait, up to `waitMs` in all. A failure after the container
 * started is the job's and is thrown as it is, so is anything once `signal` aborts;
 * an abort while waiting throws the signal's reason.
 */
export async function runWhenEngineReady<T>(
  start: () => Promise<T>,
  options: {
    readonly gate: EngineGate;
    readonly waitMs: number;
    readonly signal: AbortSignal;
    /** True once the job's container started: from then on a failure is not retried. */
    readonly hasStarted: () => boolean;
  },
): Promise<T> {
  const { gate, waitMs, signal, hasStarted } = options;
  const giveUpAt = Date.now() + waitMs;
  for (let attempt = 0; ; attempt += 1) {
    const ready = await gate.waitUntilReady(Math.max(0, giveUpAt - Date.now()), signal);
    signal.throwIfAborted();
    if (!ready) throw new EngineOutageError(waitMs);
    try {
      return await start();
    } catch (error: unknown) {
      if (!(error instanceof EngineUnavailableError) || hasStarted() || signal.aborted) throw error;
      if (Date.now() >= giveUpAt) throw new EngineOutageError(waitMs);
      await gate.check();
      const pause = RETRY_PAUSE_MS[Math.min(attempt, RETRY_PAUSE_MS.length - 1)];
      await sleep(Math.min(pause, Math.max(0, giveUpAt - Date.now())), undefined, {
        signal,
      }).catch(() => undefined);
    }
  }
}
