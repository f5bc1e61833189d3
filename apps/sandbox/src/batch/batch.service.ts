import { Injectable } from '@nestjs/common';
import { ExecutionSummary, isFinished } from '@brain-net/store';
import { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { toExecutionResult } from '../execution/dto/execution-result.dto';
import { ExecutionService } from '../execution/execution.service';
import { BatchDto, countsOf } from './dto/batch.dto';
import { BatchRequestDto, batchItemsOf } from './dto/batch-request.dto';

/**
 * Batches: many executions submitted as one, admitted whole or not at all, read and
 * cancelled together. A batch is its executions (each carries the batch's id and its
 * place): nothing else is stored for it, so it lives and is pruned as they are.
 */
@Injectable()
export class BatchService {
  constructor(
    private readonly config: AppConfig,
    private readonly executions: ExecutionService,
  ) {}

  /** Queues every item; answers the batch's id and its executions in order. */
  async submit(
    body: BatchRequestDto,
    requestId: string,
    caller: Caller,
    idempotencyKey?: string,
  ): Promise<{ batchId: string; executionIds: string[]; replayed: boolean }> {
    const admitted = await this.executions.submitBatch(batchItemsOf(body), requestId, caller, {
      ...(idempotencyKey !== undefined && { idempotencyKey }),
      sharedContainer: body.shared_container ?? false,
    });
    const executionIds = admitted.replayed
      ? (await this.summaries(admitted.batchId, caller)).map((item) => item.id)
      : admitted.records.map((record) => record.id);
    return { batchId: admitted.batchId, executionIds, replayed: admitted.replayed };
  }

  /** The batch's counts and one page of its results, in order. */
  async view(batchId: string, caller: Caller, page = 1, limit = 20): Promise<BatchDto> {
    const summaries = await this.summaries(batchId, caller);
    const onPage = summaries.slice((page - 1) * limit, page * limit);
    const records = await Promise.all(onPage.map(({ id }) => this.executions.get(id, caller)));
    return {
      batch_id: batchId,
      status: summaries.every((item) => isFinished(item.status)) ? 'finished' : 'running',
      total: summaries.length,
      counts: countsOf(summaries.map((item) => item.status)),
      items: records.map(toExecutionResult),
      page,
      limit,
    };
  }

  /** Once every execution of the batch has finished. */
  async finished(batchId: string, caller: Caller): Promise<void> {
    for (const { id } of await this.summaries(batchId, caller)) {
      await this.executions.result(id, caller);
    }
  }

  /** Cancels what has not finished; resolves once those containers are gone. */
  async cancel(batchId: string, caller: Caller): Promise<void> {
    const unfinished = (await this.summaries(batchId, caller)).filter(
      (item) => !isFinished(item.status),
    );
    // One that finished meanwhile is no reason to fail the others' cancel.
    await Promise.allSettled(unfinished.map(({ id }) => this.executions.cancel(id, caller)));
  }

  /** Every execution of the batch, in order; BATCH_NOT_FOUND if the caller has none of it. */
  private async summaries(batchId: string, caller: Caller): Promise<ExecutionSummary[]> {
    const { items } = await this.executions.list(1, this.config.maxBatchSize, caller, undefined, {
      batchId,
    });
    if (items.length === 0) throw new DomainError('BATCH_NOT_FOUND', `No batch has id ${batchId}.`);
    return items;
  }
}
