import { DomainError } from '../errors/domain-error';

/**
 * How long the shutdown waits, once it has cancelled what still ran at its deadline, for
 * those containers to be killed and removed (usually well under a second). Past it the
 * records are closed anyway; the next start sweeps whatever containers are left.
 */
export const CANCEL_WAIT_MS = 5_000;

/** Retry-After of a submit refused during shutdown: time for the load balancer to move on. */
export const SHUTDOWN_RETRY_AFTER_S = 2;

/** The answer to a submit once shutdown has begun: 503, with Retry-After. */
export function shuttingDownError(): DomainError {
  return new DomainError(
    'SHUTTING_DOWN',
    'The service is shutting down and takes no new executions; submit it again.',
    { retryAfterS: SHUTDOWN_RETRY_AFTER_S },
  );
}

/**
 * The abort reason of an execution the shutdown cancels at its deadline; its message is
 * the error recorded for it (a caller's own DELETE keeps the usual one).
 */
export class ShutdownCancellation extends Error {
  constructor(graceMs: number) {
    super(
      `The service shut down before this execution finished (it waited ${graceMs} ms for it); submit it again.`,
    );
    this.name = 'ShutdownCancellation';
  }
}

/** What the shutdown sequence does to the executions (ExecutionService in the app). */
export interface DrainableExecutions {
  /** From now on submits are refused and readiness is down. */
  stopAccepting(): void;
  /** Withdraws every execution waiting for a slot and records it cancelled; how many. */
  cancelQueued(): number | Promise<number>;
  /** One promise per execution not finished yet, settled once its record is final. */
  unfinished(): readonly Promise<void>[];
  /** Cancels (kills and removes the container of) every unfinished execution; how many. */
  cancelUnfinished(): number;
  /** Records every still unfinished execution cancelled, without waiting any longer; how many. */
  abandonUnfinished(): number;
}

export interface DrainTimings {
  /** How long running executions may take to finish (SHUTDOWN_GRACE_MS). */
  readonly graceMs: number;
  /** How long, after cancelling them, their containers may take to go (CANCEL_WAIT_MS). */
  readonly cancelWaitMs: number;
}

export interface DrainReport {
  readonly cancelledQueued: number;
  /** Executions running when the shutdown began. */
  readonly running: number;
  readonly cancelledAtDeadline: number;
  /** Cancelled ones whose containers did not go within cancelWaitMs. */
  readonly abandoned: number;
  readonly elapsedMs: number;
}

/**
 * Graceful shutdown of the executions, in this order: stop accepting (at once, before
 * anything is awaited), cancel the queued ones, let the running ones finish within the
 * grace period, cancel what still runs at its deadline and wait a bounded time for its
 * containers to go. Each record is final when this resolves, or was closed by
 * abandonUnfinished(). Executions accepted in the moment shutdown began (a submit past
 * its check, still awaiting) are cancelled or waited for like the others.
 */
export async function drainExecutions(
  executions: DrainableExecutions,
  timings: DrainTimings,
): Promise<DrainReport> {
  const startedAt = Date.now();
  const deadline = startedAt + timings.graceMs;
  executions.stopAccepting();
  let cancelledQueued = await executions.cancelQueued();
  const running = executions.unfinished().length;
  for (;;) {
    const waiting = executions.unfinished();
    const left = deadline - Date.now();
    if (waiting.length === 0 || left <= 0) break;
    await allSettleWithin(waiting, left);
    cancelledQueued += await executions.cancelQueued();
  }
  const cancelledAtDeadline = executions.cancelUnfinished();
  let abandoned = 0;
  if (
    cancelledAtDeadline > 0 &&
    !(await allSettleWithin(executions.unfinished(), timings.cancelWaitMs))
  ) {
    abandoned = executions.abandonUnfinished();
  }
  return {
    cancelledQueued,
    running,
    cancelledAtDeadline,
    abandoned,
    elapsedMs: Date.now() - startedAt,
  };
}

/** True once every promise has settled, false if `ms` passed first. */
async function allSettleWithin(promises: readonly Promise<void>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.allSettled(promises).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), false))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
