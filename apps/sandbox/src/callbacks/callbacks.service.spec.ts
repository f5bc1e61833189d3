import { InMemoryCallbackOutbox } from '@brain-net/store/testing/in-memory-callback-outbox';
import { record } from '@brain-net/store/testing/execution-records';
import { ExecutionEvents } from '../execution/execution-events';
import { CallbacksService } from './callbacks.service';

describe('CallbacksService', () => {
  it('kicks the callback of an execution the moment it finishes here, until stopped', async () => {
    const outbox = new InMemoryCallbackOutbox();
    const events = new ExecutionEvents();
    const service = new CallbacksService(outbox, events);
    service.start();
    const withCallback = { ...record('a', 'completed'), callbackUrl: 'https://h.example.org/' };
    events.publish('a', { type: 'status', status: 'completed' });
    events.publish('a', { type: 'finished', record: withCallback });
    events.publish('b', { type: 'finished', record: record('b', 'failed') });
    expect(outbox.kicked).toEqual(['a']);

    await service.stop();
    events.publish('a', { type: 'finished', record: withCallback });
    expect(outbox.kicked).toEqual(['a']);
  });
});
