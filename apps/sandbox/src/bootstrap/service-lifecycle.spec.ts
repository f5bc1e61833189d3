import { Logger } from '@nestjs/common';
import type { ExecutionFeed, ExecutionQueue } from '@brain-net/messaging';
import type { DockerRunner } from '@brain-net/runner';
import type { SqliteDatabase } from '@brain-net/store';
import type { AdjustmentOutbox } from '../adjustment/adjustment-outbox';
import type { CallbacksService } from '../callbacks/callbacks.service';
import type { RedisClients } from '../cluster/redis-clients';
import type { EngineStatusService } from '../execution/engine-status.service';
import type { ExecutionFeedRelay } from '../execution/execution-feed-relay';
import type { ExecutionLifecycle } from '../execution/execution-lifecycle';
import type { ExecutionStatistics } from '../execution/execution-statistics';
import type { ExecutionWorker } from '../execution/execution-worker';
import type { ExecutionService } from '../execution/execution.service';
import type { FileSweeper } from '../files/file-sweeper';
import type { MetricsService } from '../metrics/metrics.service';
import type { HttpShutdown } from './http-shutdown';
import { ServiceLifecycle } from './service-lifecycle';

/**
 * A participant whose every method records `name.method` when called; `failing` names
 * the calls that throw.
 */
function participant<T>(name: string, calls: string[], failing: Set<string>): T {
  return new Proxy(
    {},
    {
      get: (_target, method: string) => () => {
        calls.push(`${name}.${method}`);
        if (failing.has(`${name}.${method}`)) throw new Error(`${name}.${method} broke`);
        return Promise.resolve();
      },
    },
  ) as T;
}

function lifecycleOf(
  shape: { cluster: boolean; worker: boolean },
  failing: string[] = [],
): { lifecycle: ServiceLifecycle; calls: string[] } {
  const calls: string[] = [];
  const broken = new Set(failing);
  const part = <T>(name: string): T => participant<T>(name, calls, broken);
  const lifecycle = new ServiceLifecycle(
    shape.cluster ? part<RedisClients>('redis') : null,
    part<HttpShutdown>('http'),
    part<ExecutionService>('executions'),
    part<ExecutionLifecycle>('lifecycle'),
    part<EngineStatusService>('engine'),
    part<ExecutionFeedRelay>('relay'),
    part<ExecutionStatistics>('statistics'),
    part<MetricsService>('metrics'),
    part<AdjustmentOutbox>('adjustments'),
    part<CallbacksService>('callbacks'),
    part<FileSweeper>('files'),
    part<ExecutionQueue>('queue'),
    part<ExecutionFeed>('feed'),
    part<DockerRunner>('runner'),
    part<SqliteDatabase>('database'),
    shape.worker ? part<ExecutionWorker>('worker') : null,
  );
  return { lifecycle, calls };
}

/** Start-up, then the whole shutdown as Nest runs it (the server closes in between). */
async function startAndStop(lifecycle: ServiceLifecycle): Promise<void> {
  await lifecycle.onApplicationBootstrap();
  await lifecycle.beforeApplicationShutdown();
  await lifecycle.onApplicationShutdown();
}

describe('ServiceLifecycle', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('on one machine: starts the store, the worker, the deliveries; drains, then closes in order', async () => {
    const { lifecycle, calls } = lifecycleOf({ cluster: false, worker: true });
    await startAndStop(lifecycle);
    expect(calls).toEqual([
      'executions.start',
      'worker.start',
      'adjustments.start',
      'callbacks.start',
      'files.start',
      'http.drainWhileAnswering',
      'adjustments.stop',
      'callbacks.stop',
      'http.stop',
      'relay.stop',
      'statistics.stop',
      'metrics.stop',
      'lifecycle.stop',
      'engine.stop',
      'files.stop',
      'feed.close',
      'queue.close',
      'adjustments.close',
      'callbacks.close',
      'runner.close',
      'database.close',
    ]);
  });

  it('in cluster mode: checks the Redis layout first, and closes Redis after the queues', async () => {
    const { lifecycle, calls } = lifecycleOf({ cluster: true, worker: true });
    await startAndStop(lifecycle);
    expect(calls[0]).toBe('redis.checkLayout');
    expect(calls.slice(-3)).toEqual(['runner.close', 'redis.quit', 'database.close']);
    expect(calls.indexOf('adjustments.close')).toBeLessThan(calls.indexOf('redis.quit'));
    expect(calls.indexOf('callbacks.close')).toBeLessThan(calls.indexOf('redis.quit'));
  });

  it('an api instance (no worker composed) never starts one', async () => {
    const { lifecycle, calls } = lifecycleOf({ cluster: true, worker: false });
    await lifecycle.onApplicationBootstrap();
    expect(calls).toEqual([
      'redis.checkLayout',
      'executions.start',
      'adjustments.start',
      'callbacks.start',
      'files.start',
    ]);
  });

  it('a start-up step that fails stops the boot', async () => {
    const { lifecycle, calls } = lifecycleOf({ cluster: true, worker: true }, [
      'redis.checkLayout',
    ]);
    await expect(lifecycle.onApplicationBootstrap()).rejects.toThrow('redis.checkLayout broke');
    expect(calls).toEqual(['redis.checkLayout']);
  });

  it('a shutdown step that fails does not keep the later ones from running', async () => {
    const { lifecycle, calls } = lifecycleOf({ cluster: true, worker: true }, [
      'http.drainWhileAnswering',
      'feed.close',
    ]);
    await lifecycle.beforeApplicationShutdown();
    await lifecycle.onApplicationShutdown();
    expect(calls).toContain('adjustments.stop');
    expect(calls).toContain('callbacks.stop');
    expect(calls.slice(calls.indexOf('feed.close'))).toEqual([
      'feed.close',
      'queue.close',
      'adjustments.close',
      'callbacks.close',
      'runner.close',
      'redis.quit',
      'database.close',
    ]);
  });
});
