import type { ExecutionInput, ExecutionRecord, ExecutionStatus } from '../execution-record';
import type { ExecutionStore } from '../execution-store';

const MB = 1024 * 1024;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const INPUT: ExecutionInput = { code: 'print(1)', inputJson: '{"n":1}' };
const ENDINGS = ['completed', 'failed', 'timeout', 'cancelled'] as const;

/**
 * What every ExecutionStore does alike, run by the spec of each adapter and of the
 * in-memory fake, so unit specs over the fake hold for the real stores. `store` gives the
 * store of the running test, empty.
 */
export function behavesAsAnExecutionStore(store: () => ExecutionStore): void {
  describe('as an ExecutionStore', () => {
    it('saves a running record as often as asked, then how it ended', async () => {
      await store().create(contractRecord('a', 'queued'), INPUT);
      const running = contractRecord('a', 'running');
      expect(await store().save(running)).toBe(true);
      expect(await store().save({ ...running, stdout: 'partial\n' })).toBe(true);
      const ended = contractRecord('a', 'completed');
      expect(await store().save(ended)).toBe(true);
      expect(await store().get('a')).toEqual(ended);
      expect(await store().input('a')).toEqual(INPUT);
    });

    it.each(ENDINGS)(
      'keeps a record that ended %s as it ended: later saves change nothing and say so',
      async (status) => {
        await store().create(contractRecord('a', 'running'), INPUT);
        const ended = { ...contractRecord('a', status), stdout: '', error: 'ended elsewhere' };
        expect(await store().save(ended)).toBe(true);

        for (const late of [
          { ...contractRecord('a', 'completed'), stdout: 'late output\n' },
          { ...contractRecord('a', 'failed'), error: 'another ending' },
          contractRecord('a', 'running'),
        ]) {
          expect(await store().save(late)).toBe(false);
        }
        expect(await store().get('a')).toEqual(ended);
        const { items } = await store().list(0, 10, null);
        expect(items).toEqual([
          expect.objectContaining({ id: 'a', status, error: 'ended elsewhere' }),
        ]);
      },
    );

    it('keeps a record closeUnfinished closed as it closed it', async () => {
      await store().create(contractRecord('a', 'running'), INPUT);
      const endedAt = new Date(T0 + 5000);
      expect(await store().closeUnfinished(endedAt, 'restarted')).toBe(1);
      expect(await store().save(contractRecord('a', 'completed'))).toBe(false);
      expect(await store().get('a')).toMatchObject({
        status: 'failed',
        endedAt,
        error: 'restarted',
      });
    });

    it('saves nothing, and says so, for a record it does not hold', async () => {
      expect(await store().save(contractRecord('missing', 'running'))).toBe(false);
      expect(await store().get('missing')).toBeUndefined();
    });
  });
}

function contractRecord(id: string, status: ExecutionStatus): ExecutionRecord {
  const ended = status !== 'queued' && status !== 'running';
  return {
    id,
    tenant: 'tenant-a',
    createdBy: 'key-a',
    requestId: `request-${id}`,
    processorId: null,
    debugMode: false,
    timeoutS: 30,
    limits: {
      memoryBytes: 256 * MB,
      cpus: 1,
      pids: 64,
      tmpfsBytes: 64 * MB,
      openFiles: 256,
      fileSizeBytes: 64 * MB,
      user: '10001:10001',
    },
    queuedAt: new Date(T0),
    status,
    startedAt: status === 'queued' ? null : new Date(T0 + 100),
    endedAt: ended ? new Date(T0 + 300) : null,
    stdout: ended ? 'done\n' : '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    exitCode: ended ? 0 : null,
    error: null,
    oomKilled: false,
    exceptions: [],
    variablesAfter: null,
    timings: ended ? { queuedMs: 0, containerStartMs: 100, runMs: 200, totalMs: 300 } : null,
    codeMs: ended ? 1.5 : null,
    usage: ended ? { peakMemoryBytes: 9_000_000, cpuTimeMs: 12 } : null,
    imageId: 'sha256:abc',
    pruned: false,
  };
}
