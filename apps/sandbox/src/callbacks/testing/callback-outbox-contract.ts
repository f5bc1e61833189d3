import { randomUUID } from 'node:crypto';
import type {
  CallbackAttempt,
  CallbackHandler,
  CallbackOutbox,
  CallbackOutcome,
  CallbackState,
  ExpectedCallback,
} from '@brain-net/store';

/** Attempts of one callback in the contract's outboxes. */
export const CONTRACT_MAX_ATTEMPTS = 3;
/** Retry delays of the contract's outboxes: short, so that retries come within a poll. */
export const CONTRACT_RETRY = { retryBaseMs: 10, retryMaxMs: 20 };
/** Long: a callback is looked at because it was kicked, never because its first look came. */
export const CONTRACT_FIRST_LOOK_MS = 60_000;

/** A handler that answers each turn of a callback from its script (the last one repeats). */
export class ScriptedHandler {
  readonly turns: { executionId: string; attempt: CallbackAttempt }[] = [];
  private readonly scripts = new Map<string, CallbackOutcome[]>();

  readonly handle: CallbackHandler = (callback: ExpectedCallback, attempt: CallbackAttempt) => {
    this.turns.push({ executionId: callback.executionId, attempt });
    const script = this.scripts.get(callback.executionId) ?? [{ kind: 'delivered' }];
    const done = this.turns.filter((turn) => turn.executionId === callback.executionId).length;
    return Promise.resolve(script[Math.min(done, script.length) - 1]);
  };

  script(executionId: string, outcomes: CallbackOutcome[]): void {
    this.scripts.set(executionId, outcomes);
  }

  turnsOf(executionId: string): CallbackAttempt[] {
    return this.turns.filter((turn) => turn.executionId === executionId).map((t) => t.attempt);
  }
}

/** The outbox under test, started over `handler`; `stop` stops and closes it. */
export interface ContractOutbox {
  readonly outbox: CallbackOutbox;
  readonly stop: () => Promise<void>;
}

async function until(
  outbox: CallbackOutbox,
  id: string,
  predicate: (state: CallbackState | null) => boolean,
): Promise<CallbackState> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = await outbox.status(id);
    if (predicate(state) && state) return state;
    if (Date.now() > deadline) throw new Error(`callback ${id} stayed ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ended = (state: CallbackState | null) =>
  state?.status === 'delivered' || state?.status === 'failed';

/**
 * What every CallbackOutbox adapter does, whatever holds its callbacks. `start` builds
 * one with CONTRACT_MAX_ATTEMPTS, CONTRACT_RETRY and CONTRACT_FIRST_LOOK_MS, started.
 */
export function callbackOutboxContract(
  start: (handler: ScriptedHandler) => Promise<ContractOutbox>,
): void {
  let handler: ScriptedHandler;
  let subject: ContractOutbox;
  let outbox: CallbackOutbox;

  beforeEach(async () => {
    handler = new ScriptedHandler();
    subject = await start(handler);
    outbox = subject.outbox;
  });

  afterEach(() => subject.stop());

  it('knows an expected callback as waiting, with no attempt, and none it was not told of', async () => {
    const id = randomUUID();
    await outbox.expect(id, 'tenant-a', 'https://hooks.example.org/a');
    expect(await outbox.status(id)).toEqual({
      status: 'waiting',
      attempts: 0,
      lastError: null,
      deliveredAt: null,
    });
    expect(await outbox.status(randomUUID())).toBeNull();
    expect(handler.turns).toEqual([]);
  });

  it('delivers a kicked callback once; expecting it again changes nothing', async () => {
    const id = randomUUID();
    await outbox.expect(id, 'tenant-a', 'https://hooks.example.org/a');
    await outbox.expect(id, 'tenant-a', 'https://hooks.example.org/a');
    outbox.kick(id);
    const state = await until(outbox, id, ended);
    expect(state).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
    expect(state.deliveredAt).toBeInstanceOf(Date);
    expect(handler.turnsOf(id)).toEqual([{ number: 1, last: false }]);
  });

  it('looks again after a wait, counting no attempt for it', async () => {
    const id = randomUUID();
    handler.script(id, [{ kind: 'wait', delayMs: 50 }, { kind: 'delivered' }]);
    await outbox.expect(id, 'tenant-a', 'https://hooks.example.org/a');
    outbox.kick(id);
    expect(await until(outbox, id, ended)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(handler.turnsOf(id)).toEqual([
      { number: 1, last: false },
      { number: 1, last: false },
    ]);
  });

  it('retries a retryable failure, showing it pending with the last error meanwhile', async () => {
    const id = randomUUID();
    handler.script(id, [
      { kind: 'retryable', message: 'answered 500' },
      { kind: 'retryable', message: 'answered 503' },
      { kind: 'delivered' },
    ]);
    await outbox.expect(id, 'tenant-a', 'https://hooks.example.org/a');
    outbox.kick(id);
    const pending = await until(outbox, id, (state) => state?.status === 'pending');
    expect(pending.lastError).toMatch(/^answered 50[03]$/);
    expect(await until(outbox, id, ended)).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(handler.turnsOf(id).map((attempt) => attempt.number)).toEqual([1, 2, 3]);
    expect(handler.turnsOf(id)[2].last).toBe(true);
  });

  it('ends a callback failed at once when the handler rejects it', async () => {
    const id = randomUUID();
    handler.script(id, [{ kind: 'rejected', message: 'refused: 10.0.0.7 is private' }]);
    await outbox.expect(id, 'tenant-a', 'https://hooks.example.org/a');
    outbox.kick(id);
    expect(await until(outbox, id, ended)).toEqual({
      status: 'failed',
      attempts: 1,
      lastError: 'refused: 10.0.0.7 is private',
      deliveredAt: null,
    });
  });

  it('ends a callback failed once its attempts run out', async () => {
    const id = randomUUID();
    handler.script(id, [{ kind: 'retryable', message: 'no answer' }]);
    await outbox.expect(id, 'tenant-a', 'https://hooks.example.org/a');
    outbox.kick(id);
    expect(await until(outbox, id, ended)).toMatchObject({
      status: 'failed',
      attempts: CONTRACT_MAX_ATTEMPTS,
      lastError: 'no answer',
    });
    expect(handler.turnsOf(id)).toHaveLength(CONTRACT_MAX_ATTEMPTS);
  });
}
