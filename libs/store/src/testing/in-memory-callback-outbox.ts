import { CallbackOutbox, CallbackState, ExpectedCallback } from '../callbacks/callback-outbox';

/** A CallbackOutbox that delivers nothing: it keeps what it was told, for specs to read. */
export class InMemoryCallbackOutbox extends CallbackOutbox {
  readonly expected: ExpectedCallback[] = [];
  readonly kicked: string[] = [];
  /** What status() answers, by execution id; `waiting` for an expected one not in it. */
  readonly states = new Map<string, CallbackState>();

  expect(executionId: string, tenant: string, url: string): Promise<void> {
    if (!this.expected.some((callback) => callback.executionId === executionId)) {
      this.expected.push({ executionId, tenant, url, createdAt: new Date() });
    }
    return Promise.resolve();
  }

  kick(executionId: string): void {
    this.kicked.push(executionId);
  }

  status(executionId: string): Promise<CallbackState | null> {
    const known = this.expected.some((callback) => callback.executionId === executionId);
    const waiting: CallbackState = {
      status: 'waiting',
      attempts: 0,
      lastError: null,
      deliveredAt: null,
    };
    return Promise.resolve(this.states.get(executionId) ?? (known ? waiting : null));
  }

  start(): void {}

  stop(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
