import { Logger } from '@nestjs/common';
import { InMemoryExecutionStore } from '@brain-net/store/testing/in-memory-execution-store';
import { INPUT, record } from '@brain-net/store/testing/execution-records';
import type { ExpectedCallback } from '@brain-net/store';
import { WebhookAttempt, WebhookDelivery, WebhookSender } from '@brain-net/webhooks';
import { toExecutionResult } from '../execution/dto/execution-result.dto';
import { CallbackDeliverer, UNSTORED_GRACE_MS, WAIT_RECHECK_MS } from './callback-deliverer';

const NOW = new Date('2030-01-01T00:10:00.000Z');
const URL = 'https://hooks.example.org/sandbox';

/** Answers each send from a script, and keeps what it was asked to send. */
class ScriptedSender extends WebhookSender {
  readonly sent: WebhookDelivery[] = [];
  answer: WebhookAttempt = { ok: true, status: 204 };

  send(delivery: WebhookDelivery): Promise<WebhookAttempt> {
    this.sent.push(delivery);
    return Promise.resolve(this.answer);
  }
}

function callbackOf(executionId: string, createdAt = NOW): ExpectedCallback {
  return { executionId, tenant: 'tenant-a', url: URL, createdAt };
}

describe('CallbackDeliverer', () => {
  let store: InMemoryExecutionStore;
  let sender: ScriptedSender;
  let deliverer: CallbackDeliverer;
  const first = { number: 1, last: false };

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    store = new InMemoryExecutionStore();
    sender = new ScriptedSender();
    deliverer = new CallbackDeliverer(store, sender, () => NOW);
  });

  it('waits while its execution runs, sending nothing', async () => {
    await store.create(record('a', 'running'), INPUT, null);
    expect(await deliverer.attempt(callbackOf('a'), first)).toEqual({
      kind: 'wait',
      delayMs: WAIT_RECHECK_MS,
    });
    expect(sender.sent).toEqual([]);
  });

  it('waits for a record not stored yet, and gives up on one never stored', async () => {
    const young = callbackOf('gone', new Date(NOW.getTime() - UNSTORED_GRACE_MS + 1));
    expect(await deliverer.attempt(young, first)).toMatchObject({ kind: 'wait' });
    const old = callbackOf('gone', new Date(NOW.getTime() - UNSTORED_GRACE_MS));
    expect(await deliverer.attempt(old, first)).toMatchObject({ kind: 'rejected' });
    expect(sender.sent).toEqual([]);
  });

  it('waits, spending no attempt, while the store cannot be read', async () => {
    jest.spyOn(store, 'get').mockRejectedValue(new Error('Redis is away'));
    expect(await deliverer.attempt(callbackOf('a'), first)).toMatchObject({ kind: 'wait' });
  });

  it('sends a finished execution’s result in the Standard Webhooks envelope, under a stable id', async () => {
    const finished = { ...record('a', 'failed'), callbackUrl: URL };
    await store.create(finished, INPUT, null);
    expect(await deliverer.attempt(callbackOf('a'), first)).toEqual({ kind: 'delivered' });
    expect(sender.sent).toHaveLength(1);
    const [delivery] = sender.sent;
    expect(delivery).toMatchObject({ url: URL, id: 'exec_a', timestamp: NOW });
    expect(JSON.parse(delivery.body)).toEqual({
      type: 'execution.finished',
      timestamp: finished.endedAt?.toISOString(),
      data: JSON.parse(JSON.stringify(toExecutionResult(finished))) as unknown,
    });
  });

  it('retries what the sender calls retryable, and gives up on the last attempt', async () => {
    await store.create(record('a', 'completed'), INPUT, null);
    sender.answer = { ok: false, retryable: true, status: 503, reason: 'answered 503' };
    expect(await deliverer.attempt(callbackOf('a'), first)).toEqual({
      kind: 'retryable',
      message: 'answered 503',
    });
    expect(await deliverer.attempt(callbackOf('a'), { number: 8, last: true })).toEqual({
      kind: 'rejected',
      message: 'Gave up after 8 attempts; the last: answered 503',
    });
  });

  it('fails at once what the sender calls not retryable (a refused destination, a 4xx)', async () => {
    await store.create(record('a', 'timeout'), INPUT, null);
    sender.answer = { ok: false, retryable: false, status: null, reason: 'refused: x is private' };
    expect(await deliverer.attempt(callbackOf('a'), first)).toEqual({
      kind: 'rejected',
      message: 'refused: x is private',
    });
  });
});
