import { AsyncResource } from 'node:async_hooks';

/**
 * FIFO admission for executions: at most `maxRunning` tasks run at once, at most
 * `maxQueued` wait, the rest are refused. A queued task can be withdrawn.
 * (p-queue and friends cannot withdraw a queued task by id; this is small enough to own.)
 */
export class ExecutionScheduler {
  private readonly waiting = new Map<string, () => Promise<void>>();
  private runningCount = 0;
  /**
   * Tasks run in the async context the scheduler was made in, not in that of whichever
   * request happened to submit or free a slot, so per-request context (the logger's
   * request id) never leaks into another execution's work.
   */
  private readonly scope = new AsyncResource('ExecutionScheduler');

  constructor(
    private readonly maxRunning: number,
    private readonly maxQueued: number,
    /** A task that rejected anyway: reported here, never left as an unhandled rejection. */
    private readonly onTaskFailed: (error: unknown) => void = () => undefined,
  ) {}

  get running(): number {
    return this.runningCount;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /** True when a new task would be refused. */
  get isFull(): boolean {
    return this.runningCount >= this.maxRunning && this.waiting.size >= this.maxQueued;
  }

  /**
   * Runs the task now if a slot is free, else queues it. Returns false (and does
   * nothing) when the queue is full. A task should not reject; if it does, the error
   * goes to onTaskFailed and its slot is freed all the same.
   */
  submit(id: string, task: () => Promise<void>): boolean {
    if (this.isFull) return false;
    if (this.runningCount < this.maxRunning) {
      this.start(task);
    } else {
      this.waiting.set(id, task);
    }
    return true;
  }

  /** Removes a task that has not started yet; false if it is not waiting. */
  withdraw(id: string): boolean {
    return this.waiting.delete(id);
  }

  /** Removes and returns the ids of every waiting task. */
  drain(): string[] {
    const ids = [...this.waiting.keys()];
    this.waiting.clear();
    return ids;
  }

  private start(task: () => Promise<void>): void {
    this.runningCount += 1;
    void this.scope
      .runInAsyncScope(task)
      .catch((error: unknown) => this.onTaskFailed(error))
      .finally(() => {
        this.runningCount -= 1;
        this.startNext();
      });
  }

  private startNext(): void {
    // Map iteration order is insertion order: the oldest waiting task comes first.
    const next = this.waiting.entries().next();
    if (next.done) return;
    const [id, task] = next.value;
    this.waiting.delete(id);
    this.start(task);
  }
}
