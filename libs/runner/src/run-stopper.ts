import { StopReason } from './docker-runner';

/** Why the runner itself stops a container. */
export type StopRequest = Exclude<StopReason, 'exited'>;

/**
 * Whether a stop request kills the container: only the first one does, and once the
 * harness has reported, the job is over: a late deadline changes nothing (a cancel still
 * stops the container).
 */
export function stopTakesEffect(
  current: StopReason,
  requested: StopRequest,
  exitFrameSeen: boolean,
): boolean {
  return current === 'exited' && !(requested === 'timeout' && exitFrameSeen);
}

/**
 * Stops one run at its deadline or when its caller cancels it, and remembers why.
 * Follows the signal from construction on; dispose() when the run is over.
 */
export class RunStopper {
  private stopReason: StopReason = 'exited';
  private deadline: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.stop('aborted');

  constructor(
    private readonly signal: AbortSignal,
    private readonly exitFrameSeen: () => boolean,
    private readonly kill: () => void,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** 'exited' unless the deadline or a cancel stopped the container. */
  get reason(): StopReason {
    return this.stopReason;
  }

  /** Starts the job's clock: the container is killed `timeoutMs` from now. */
  armDeadline(timeoutMs: number): void {
    this.deadline = setTimeout(() => this.stop('timeout'), timeoutMs);
  }

  /** The container has exited: its deadline no longer applies. */
  disarmDeadline(): void {
    clearTimeout(this.deadline);
  }

  dispose(): void {
    this.disarmDeadline();
    this.signal.removeEventListener('abort', this.onAbort);
  }

  private stop(requested: StopRequest): void {
    if (!stopTakesEffect(this.stopReason, requested, this.exitFrameSeen())) return;
    this.stopReason = requested;
    this.kill();
  }
}
