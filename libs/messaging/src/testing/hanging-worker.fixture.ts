/**
 * A service instance that takes one job and hangs in it: the spec SIGKILLs this process
 * to play an instance lost mid-job. Run with ts-node; configured by the environment:
 * REDIS_URL, QUEUE_NAME, QUEUE_PREFIX, LOCK_MS, STALLED_CHECK_MS. Says `took <id>` on stdout.
 */
import { BullmqExecutionQueue } from '../bullmq-execution-queue';
import { createRedisClient } from '../redis-connection';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const url = required('REDIS_URL');
const commands = createRedisClient(url, 'commands', 'hanging-worker-fixture');
const queue = new BullmqExecutionQueue({
  queueName: required('QUEUE_NAME'),
  prefix: required('QUEUE_PREFIX'),
  commands,
  workerConnection: () => createRedisClient(url, 'worker', 'hanging-worker-fixture'),
  concurrency: 1,
  maxWaiting: 100,
  lockMs: Number(required('LOCK_MS')),
  stalledCheckMs: Number(required('STALLED_CHECK_MS')),
  onError: (error) => process.stderr.write(`queue error: ${String(error)}\n`),
});

queue.work(
  (executionId) => {
    process.stdout.write(`took ${executionId}\n`);
    // Never settles: the job runs until the process dies.
    return new Promise<void>(() => undefined);
  },
  (executionId) => process.stdout.write(`lost ${executionId}\n`),
);
