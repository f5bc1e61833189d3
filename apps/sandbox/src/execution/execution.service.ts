import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { ExecutionFeed, ExecutionQueue, QueueLoad, TenantLoad } from '@brain-net/messaging';
import {
  ExecutionFilter,
  ExecutionInput,
  ExecutionPage,
  ExecutionRecord,
  ExecutionStore,
  isFinished,
  isRecordId,
} from '@brain-net/store';
import { Caller, canSee, listingTenant, readableTenant } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { AdmittedBatch, ExecutionAdmission } from './execution-admission';
import { sharedBatchJobId } from './shared-batch';
import { ExecutionLifecycle } from './execution-lifecycle';
import { fromQueue, fromStore } from './from-store';
import { CANCEL_WAIT_MS, ShutdownCancellation, drainExecutions } from './graceful-shutdown';

/**
 * How often a waiting client looks at the store, in case the feed's `finished` went
 * astray, and a cancel that has not reached its job yet is sent again.
 */
const SETTLE_POLL_MS = 1000;

/**
 * What the API does with executions: submits (ExecutionAdmission), reads, waits and
 * cancels on whichever instance holds them, and the graceful shutdown. The run itself is
 * ExecutionLifecycle's.
 */
@Injectable()
export class ExecutionService {
  private readonly logger = new Logger(ExecutionService.name);
  private shutdown: Promise<void> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly store: ExecutionStore,
    private readonly queue: ExecutionQueue,
    private readonly feed: ExecutionFeed,
    private readonly admission: ExecutionAdmission,
    private readonly lifecycle: ExecutionLifecycle,
  ) {}

  /** At start-up (ServiceLifecycle), before any request: the store's leftovers, the flusher. */
  async start(): Promise<void> {
    // Alone on its machine, what is unfinished in the store was this process's, and died
    // with it. In a cluster other instances may be running them: lost workers are found
    // by the queue instead (see ExecutionLifecycle.recordLost).
    if (this.queue.runsJobsInThisProcess) {
      const closed = await this.store.closeUnfinished(
        new Date(),
        'The service restarted before this execution finished; submit it again.',
      );
      if (closed > 0)
        this.logger.warn(`${closed} executions were unfinished when the service stopped`);
    }
    this.lifecycle.start();
  }

  /** Queues an execution; answers with its record, or the first one of an Idempotency-Key. */
  async submit(
    request: ExecuteRequestDto,
    requestId: string,
    caller: Caller,
    idempotencyKey?: string,
  ): Promise<{ record: ExecutionRecord; replayed: boolean }> {
    const admitted = await this.admission.submit(request, requestId, caller, idempotencyKey);
    const record = admitted.record ?? (await this.get(admitted.id, caller));
    return { record, replayed: admitted.replayed };
  }

  /** Queues a batch's executions, all or none (ExecutionAdmission.submitBatch). */
  submitBatch(
    requests: readonly ExecuteRequestDto[],
    requestId: string,
    caller: Caller,
    options: { readonly idempotencyKey?: string; readonly sharedContainer?: boolean } = {},
  ): Promise<AdmittedBatch> {
    return this.admission.submitBatch(requests, requestId, caller, options);
  }

  /** The execution, if this caller may see it; another tenant's is as unknown as a missing one. */
  async get(id: string, caller: Caller): Promise<ExecutionRecord> {
    // What is not an id is not looked for; another tenant's record is not read.
    const record = isRecordId(id)
      ? (this.lifecycle.live(id) ??
        (await fromStore(() => this.store.get(id, readableTenant(caller)))))
      : undefined;
    if (!record || !canSee(caller, record.tenant)) {
      throw new DomainError('EXECUTION_NOT_FOUND', `No execution has id ${id}.`);
    }
    return record;
  }

  /** What an execution was asked to run; undefined once the store budget dropped it. */
  async input(id: string, caller: Caller): Promise<ExecutionInput | undefined> {
    await this.get(id, caller);
    return fromStore(() => this.store.input(id));
  }

  /**
   * The caller's tenant's executions; an admin's: one tenant's, or all. Only those the
   * filter matches, which the store applies: `total` counts them.
   */
  list(
    page: number,
    limit: number,
    caller: Caller,
    tenant?: string,
    filter: ExecutionFilter = {},
  ): Promise<ExecutionPage> {
    return fromStore(() =>
      this.store.list((page - 1) * limit, limit, listingTenant(caller, tenant), filter),
    );
  }

  /** The record once it has finished, wherever it ran. */
  async result(id: string, caller: Caller): Promise<ExecutionRecord> {
    await this.get(id, caller); // another tenant's is unknown at once, never waited for
    return this.settled(id, caller);
  }

  /** Cancels a queued or running execution; resolves once its container is gone. */
  async cancel(id: string, caller: Caller): Promise<ExecutionRecord> {
    const record = await this.get(id, caller);
    if (isFinished(record.status)) {
      throw new DomainError(
        'EXECUTION_ALREADY_FINISHED',
        `Execution ${id} already finished with status ${record.status}.`,
      );
    }
    // An item of a shared-container batch waits as its batch's one job.
    const batchId = record.sharedContainer ? record.batchId : null;
    if (await fromQueue(() => this.queue.withdraw(batchId ? sharedBatchJobId(batchId) : id))) {
      const records = batchId ? await this.unfinishedOfBatch(batchId) : [record];
      for (const withdrawn of records) {
        await this.lifecycle.close(
          withdrawn,
          'cancelled',
          'The execution was cancelled before it started.',
        );
      }
      return this.get(id, caller);
    }
    if (this.lifecycle.cancelHere(id)) return this.settled(id, caller);
    // Running on another instance (or about to start anywhere): ask until it ends.
    return this.settled(id, caller, () => {
      this.feed.publish(id, { type: 'cancel' }).catch((error: unknown) => {
        this.logger.warn(`execution ${id}: cannot send its cancel: ${errorMessage(error)}`);
      });
    });
  }

  /** The records of a batch not finished yet, every tenant's (the caller was checked). */
  private async unfinishedOfBatch(batchId: string): Promise<ExecutionRecord[]> {
    const { items } = await fromStore(() =>
      this.store.list(0, this.config.maxBatchSize, null, { batchId }),
    );
    const records = await Promise.all(
      items
        .filter((item) => !isFinished(item.status))
        .map(({ id }) => fromStore(() => this.store.get(id))),
    );
    return records.filter((record): record is ExecutionRecord => record !== undefined);
  }

  /**
   * Waits until the execution's record is final: woken by the feed's `finished`, and
   * looking at the store every SETTLE_POLL_MS in case that event went astray (Redis
   * restarted, say). `meanwhile` runs at once and at every look.
   */
  private async settled(
    id: string,
    caller: Caller,
    meanwhile: () => void = () => undefined,
  ): Promise<ExecutionRecord> {
    let wake: () => void = () => undefined;
    const stopListening = await this.feed
      .subscribe(id, (event) => {
        if (event.type === 'finished') wake();
      })
      .catch(() => () => undefined);
    try {
      for (;;) {
        const here = this.lifecycle.finished(id);
        if (here) await here;
        const record = await this.get(id, caller);
        if (isFinished(record.status)) return record;
        meanwhile();
        const woken = new Promise<void>((resolve) => (wake = resolve));
        await Promise.race([woken, sleep(SETTLE_POLL_MS)]);
      }
    } finally {
      stopListening();
    }
  }

  /** True from the moment shutdown begins: submits are refused and readiness is down. */
  get isShuttingDown(): boolean {
    return this.admission.isClosed;
  }

  /**
   * Stops taking executions, cancels the queued ones (a shared queue keeps them for other
   * instances), lets the running ones finish within SHUTDOWN_GRACE_MS, then cancels what
   * still runs (the runner kills and removes its container); see drainExecutions. Runs
   * once: later calls share the first. ServiceLifecycle calls it while the HTTP server
   * still answers, so `?wait=true` requests and event streams end with the final records.
   */
  shutDown(): Promise<void> {
    this.shutdown ??= this.drain();
    return this.shutdown;
  }

  private async drain(): Promise<void> {
    const graceMs = this.config.shutdownGraceMs;
    const cancellation = new ShutdownCancellation(graceMs);
    const report = await drainExecutions(
      {
        stopAccepting: () => {
          this.admission.close();
          this.logger.log(`shutting down: no new executions, running ones get ${graceMs} ms`);
        },
        cancelQueued: () => this.cancelQueuedOnShutdown(),
        unfinished: () => this.lifecycle.unfinished,
        cancelUnfinished: () => this.lifecycle.cancelAll(cancellation),
        abandonUnfinished: () => this.lifecycle.abandonAll(cancellation.message),
      },
      { graceMs, cancelWaitMs: CANCEL_WAIT_MS },
    );
    this.logger.log({ ...report }, 'executions drained for shutdown');
    if (report.abandoned > 0) {
      this.logger.warn(
        `${report.abandoned} containers were not confirmed removed; the next start sweeps them`,
      );
    }
  }

  private async cancelQueuedOnShutdown(): Promise<number> {
    const ids = await this.queue.stopWork();
    for (const id of ids) {
      const record = await this.store.get(id).catch(() => undefined);
      if (record && !isFinished(record.status))
        await this.lifecycle.close(record, 'cancelled', 'The service shut down before it started.');
    }
    return ids.length;
  }

  /** Executions running on this instance. */
  get runningCount(): number {
    return this.lifecycle.running;
  }

  /** Waiting (in the whole queue) and running here. */
  load(): Promise<QueueLoad> {
    return this.queue.load();
  }

  /** Running and waiting executions of each tenant that has any (for per-tenant gauges). */
  get tenantLoads(): TenantLoad[] {
    const known = this.queue.tenantLoads();
    if (known) return known;
    // A shared queue does not say whose jobs wait: what runs here, by tenant.
    return [...this.lifecycle.runningByTenant()].map(([tenant, running]) => ({
      tenant,
      running,
      queued: 0,
    }));
  }

  /** Why the store refuses writes, while it does (readiness shows it); null when it takes them. */
  get storeFailure(): string | null {
    return this.lifecycle.records.failure;
  }
}
