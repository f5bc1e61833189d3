import { AsyncResource } from 'node:async_hooks';

/** Why a task was refused: every waiting place is taken, or all of its tenant's share. */
export type SchedulerRefusal = 'queue-full' | 'tenant-queue-full';
/** What submit() did with a task, or would do with one now. */
export type Admission = 'accepted' | SchedulerRefusal;

export interface SchedulerLimits {
  /** Tasks running at once, all tenants together. */
  readonly maxRunning: number;
  /** Tasks waiting, all tenants together. */
  readonly maxQueued: number;
  /** Tasks of one tenant running at once (at least 1); maxRunning when absent. */
  readonly maxRunningPerTenant?: number;
  /** Tasks of one tenant waiting; maxQueued when absent. */
  readonly maxQueuedPerTenant?: number;
}

type Task = () => Promise<void>;

/** A tenant with a task running or waiting; forgotten as soon as it has neither. */
interface TenantState {
  readonly name: string;
  /** Its waiting tasks by id, oldest first (a Map keeps insertion order). */
  readonly waiting: Map<string, Task>;
  running: number;
  /** The scheduler's start count when it last had a task started; 0 for never. */
  lastStart: number;
}

/**
 * Fair admission for executions. At most `maxRunning` tasks run and `maxQueued` wait;
 * one tenant holds at most `maxRunningPerTenant` of the slots and `maxQueuedPerTenant`
 * of the waiting places. A freed slot goes to the waiting tenant that was served least
 * recently (round-robin), oldest task first within a tenant: a tenant's single task
 * waits behind at most one task per slot of a tenant that queued hundreds.
 * A queued task can be withdrawn by id, which p-queue and friends cannot do.
 */
export class ExecutionScheduler {
  private readonly tenants = new Map<string, TenantState>();
  /** The tenant of each waiting task, oldest first: for withdraw and drain. */
  private readonly waitingTenant = new Map<string, TenantState>();
  private runningCount = 0;
  private startCount = 0;
  private readonly maxRunning: number;
  private readonly maxQueued: number;
  private readonly maxRunningPerTenant: number;
  private readonly maxQueuedPerTenant: number;
  /**
   * Tasks run in the async context the scheduler was made in, not in that of whichever
   * request happened to submit or free a slot, so per-request context (the logger's
   * request id) never leaks into another execution's work.
   */
  private readonly scope = new AsyncResource('ExecutionScheduler');

  constructor(
    limits: SchedulerLimits,
    /** A task that rejected anyway: reported here, never left as an unhandled rejection. */
    private readonly onTaskFailed: (error: unknown) => void = () => undefined,
  ) {
    this.maxRunning = limits.maxRunning;
    this.maxQueued = limits.maxQueued;
    this.maxRunningPerTenant = limits.maxRunningPerTenant ?? limits.maxRunning;
    this.maxQueuedPerTenant = limits.maxQueuedPerTenant ?? limits.maxQueued;
  }

  get running(): number {
    return this.runningCount;
  }

  get queued(): number {
    return this.waitingTenant.size;
  }

  /** True when a task would be refused even from a tenant with nothing running or waiting. */
  get isFull(): boolean {
    return this.runningCount >= this.maxRunning && this.waitingTenant.size >= this.maxQueued;
  }

  /** Tenants with a task running or waiting. */
  get tenantNames(): string[] {
    return [...this.tenants.keys()];
  }

  runningOf(tenant: string): number {
    return this.tenants.get(tenant)?.running ?? 0;
  }

  queuedOf(tenant: string): number {
    return this.tenants.get(tenant)?.waiting.size ?? 0;
  }

  /**
   * What submit() would answer for this tenant now, or for `count` of its tasks submitted
   * together (a batch: all of them fit, or none is taken). Lets a caller check before
   * doing work it would have to undo; nothing changes between the two without a submit.
   */
  admission(tenant: string, count = 1): Admission {
    const state = this.tenants.get(tenant);
    const toWait = count - this.freeSlotsFor(state);
    if (toWait <= 0) return 'accepted';
    // The whole queue first: with no cap of its own a tenant's share is all of it.
    if (this.waitingTenant.size + toWait > this.maxQueued) return 'queue-full';
    if ((state?.waiting.size ?? 0) + toWait > this.maxQueuedPerTenant) return 'tenant-queue-full';
    return 'accepted';
  }

  /**
   * Runs the task now if a slot is free for its tenant, else queues it; when refused,
   * does nothing and says why. `evenIfFull` queues it past the waiting limits (a submit
   * that was admitted before another took the last place). Ids must be unique among tasks not yet started. A task
   * should not reject; if it does, the error goes to onTaskFailed and its slot is
   * freed all the same.
   */
  submit(
    id: string,
    tenant: string,
    task: Task,
    options: { evenIfFull?: boolean } = {},
  ): Admission {
    const admission = options.evenIfFull ? 'accepted' : this.admission(tenant);
    if (admission !== 'accepted') return admission;
    let state = this.tenants.get(tenant);
    if (!state) {
      state = { name: tenant, waiting: new Map(), running: 0, lastStart: 0 };
      this.tenants.set(tenant, state);
    }
    state.waiting.set(id, task);
    this.waitingTenant.set(id, state);
    // Nothing else that waits could start before this (it would already be running), so
    // this starts the task at once when its tenant has a slot, and otherwise nothing.
    this.startWaiting();
    return 'accepted';
  }

  /** Removes a task that has not started yet; false if it is not waiting. */
  withdraw(id: string): boolean {
    const state = this.waitingTenant.get(id);
    if (!state) return false;
    this.waitingTenant.delete(id);
    state.waiting.delete(id);
    this.forgetIfIdle(state);
    return true;
  }

  /** Removes and returns the ids of every waiting task, oldest first. */
  drain(): string[] {
    const ids = [...this.waitingTenant.keys()];
    this.waitingTenant.clear();
    for (const state of [...this.tenants.values()]) {
      state.waiting.clear();
      this.forgetIfIdle(state);
    }
    return ids;
  }

  private hasSlotFor(state: TenantState | undefined): boolean {
    return this.freeSlotsFor(state) > 0;
  }

  /** Tasks of this tenant that would start at once: while one is free, nothing waits. */
  private freeSlotsFor(state: TenantState | undefined): number {
    const free = Math.min(
      this.maxRunning - this.runningCount,
      this.maxRunningPerTenant - (state?.running ?? 0),
    );
    return Math.max(0, free);
  }

  private startWaiting(): void {
    while (this.runningCount < this.maxRunning) {
      const state = this.nextTenant();
      if (!state) return;
      // nextTenant() only picks a tenant with a waiting task.
      const [id, task] = state.waiting.entries().next().value!;
      state.waiting.delete(id);
      this.waitingTenant.delete(id);
      this.start(state, task);
    }
  }

  /**
   * The waiting tenant under its running cap that had a task started longest ago. A scan
   * over the active tenants: there are few, and it runs once per start.
   */
  private nextTenant(): TenantState | undefined {
    let next: TenantState | undefined;
    for (const state of this.tenants.values()) {
      if (state.waiting.size === 0 || !this.hasSlotFor(state)) continue;
      if (!next || state.lastStart < next.lastStart) next = state;
    }
    return next;
  }

  private start(state: TenantState, task: Task): void {
    this.runningCount += 1;
    this.startCount += 1;
    state.running += 1;
    state.lastStart = this.startCount;
    void this.scope
      .runInAsyncScope(task)
      .catch((error: unknown) => this.onTaskFailed(error))
      .finally(() => {
        this.runningCount -= 1;
        state.running -= 1;
        this.forgetIfIdle(state);
        this.startWaiting();
      });
  }

  /** A tenant that comes back after going idle starts afresh, as if never served. */
  private forgetIfIdle(state: TenantState): void {
    if (state.running === 0 && state.waiting.size === 0) this.tenants.delete(state.name);
  }
}
