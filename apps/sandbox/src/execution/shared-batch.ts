/**
 * A batch run in one container (`shared_container`) is one job of the queue, not one per
 * item: it takes one slot, as its one container does. Its job id names the batch; an
 * execution id is a bare UUID, so the two never collide. (BullMQ refuses `:` in ids.)
 */
const SHARED_BATCH_JOB = /^batch-([0-9a-f-]{36})$/;

export function sharedBatchJobId(batchId: string): string {
  return `batch-${batchId}`;
}

/** The batch a queue job runs, or null for a job of one execution. */
export function sharedBatchOf(jobId: string): string | null {
  return SHARED_BATCH_JOB.exec(jobId)?.[1] ?? null;
}
