import type { ExecutionRecord, ExecutionStatus } from '../execution-record';
import type { ExecutionFilter, ExecutionStore } from '../execution-store';
import { INPUT, RUN_SETTINGS, T0, record, withoutRunSettings } from './execution-records';
const ENDINGS = ['completed', 'failed', 'timeout', 'cancelled'] as const;

/**
 * What every ExecutionStore does alike, run by the spec of each adapter and of the
 * in-memory fake, so unit specs over the fake hold for the real stores. `store` gives the
 * store of the running test, empty.
 */
export function behavesAsAnExecutionStore(store: () => ExecutionStore): void {
  describe('as an ExecutionStore', () => {
    it('saves a running record as often as asked, then how it ended', async () => {
      await store().create(record('a', 'queued'), INPUT);
      const running = record('a', 'running');
      expect(await store().save(running)).toBe(true);
      expect(await store().save({ ...running, stdout: 'partial\n' })).toBe(true);
      const ended = record('a', 'completed');
      expect(await store().save(ended)).toBe(true);
      expect(await store().get('a')).toEqual(ended);
      expect(await store().input('a')).toEqual(INPUT);
    });

    it.each(ENDINGS)(
      'keeps a record that ended %s as it ended: later saves change nothing and say so',
      async (status) => {
        await store().create(record('a', 'running'), INPUT);
        const ended = { ...record('a', status), stdout: '', error: 'ended elsewhere' };
        expect(await store().save(ended)).toBe(true);

        for (const late of [
          { ...record('a', 'completed'), stdout: 'late output\n' },
          { ...record('a', 'failed'), error: 'another ending' },
          record('a', 'running'),
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
      await store().create(record('a', 'running'), INPUT);
      const endedAt = new Date(T0 + 5000);
      expect(await store().closeUnfinished(endedAt, 'restarted')).toBe(1);
      expect(await store().save(record('a', 'completed'))).toBe(false);
      expect(await store().get('a')).toMatchObject({
        status: 'failed',
        endedAt,
        error: 'restarted',
      });
    });

    it('keeps the run settings of a record as created, and none for one without', async () => {
      await store().create(record('a', 'running'), INPUT);
      await store().save(record('a', 'completed'));
      expect((await store().get('a'))?.runSettings).toEqual(RUN_SETTINGS);

      const older = withoutRunSettings(record('older', 'completed'));
      await store().create(older, INPUT);
      const read = await store().get('older');
      expect(read).toEqual(older);
      expect(read).not.toHaveProperty('runSettings');
    });

    it('keeps the runtime a record was created with, and the module hint it ended with', async () => {
      const runtime = 'python-3.11-minimal';
      await store().create({ ...record('a', 'running'), runtime }, INPUT);
      const ended: ExecutionRecord = {
        ...record('a', 'failed'),
        runtime,
        moduleHint: { module: 'sklearn', runtimes: ['python-3.11'], unchecked: ['other'] },
      };
      expect(await store().save(ended)).toBe(true);
      expect(await store().get('a')).toEqual(ended);
    });

    it('keeps the stdin of an input as given, across saves, and none for an input without', async () => {
      // Lines, no final newline, a NUL, characters of 2 to 4 UTF-8 bytes.
      const stdin = 'line 1\nline 2\r\n\u0000é€😀 end';
      await store().create(record('with', 'queued'), { ...INPUT, stdin });
      await store().save(record('with', 'running'));
      await store().save(record('with', 'completed'));
      expect(await store().input('with')).toEqual({ ...INPUT, stdin });

      // Empty is given, not absent: the code reads EOF either way, the record says which.
      await store().create(record('empty', 'queued', 1), { ...INPUT, stdin: '' });
      expect(await store().input('empty')).toEqual({ ...INPUT, stdin: '' });

      await store().create(record('without', 'queued', 2), INPUT);
      const read = await store().input('without');
      expect(read).toEqual(INPUT);
      expect(read).not.toHaveProperty('stdin');
    });

    it('saves nothing, and says so, for a record it does not hold', async () => {
      expect(await store().save(record('missing', 'running'))).toBe(false);
      expect(await store().get('missing')).toBeUndefined();
    });

    describe('listing with a filter', () => {
      /** One tenant's executions, 10 ms apart, the last queued first in a listing. */
      const HISTORY: readonly [string, ExecutionStatus, string | null][] = [
        ['a', 'completed', 'p-1'],
        ['b', 'failed', null],
        ['c', 'completed', 'p-2'],
        ['d', 'timeout', 'p-1'],
        ['e', 'running', 'p-1'],
        ['f', 'queued', null],
        ['g', 'failed', 'p-1'],
      ];
      const at = (id: string) => T0 + 10 * HISTORY.findIndex(([known]) => known === id);

      const listed = async (filter: ExecutionFilter, tenant: string | null = 'tenant-a') => {
        const page = await store().list(0, 10, tenant, filter);
        return { ids: page.items.map((item) => item.id), total: page.total };
      };

      beforeEach(async () => {
        for (const [i, [id, status, processorId]] of HISTORY.entries())
          await store().create({ ...record(id, status, 10 * i), processorId }, INPUT);
        // Another tenant's, matching every filter below: never in tenant-a's listing.
        await store().create(otherTenants(record('x', 'failed', 65), 'p-1'), INPUT);
      });

      it('lists the executions in any of the statuses given, counting those only', async () => {
        expect(await listed({ statuses: ['failed'] })).toEqual({ ids: ['g', 'b'], total: 2 });
        expect(await listed({ statuses: ['completed', 'timeout', 'completed'] })).toEqual({
          ids: ['d', 'c', 'a'],
          total: 3,
        });
        expect(await listed({ statuses: ['cancelled'] })).toEqual({ ids: [], total: 0 });
        expect(await listed({ statuses: [] })).toEqual({ ids: [], total: 0 });
      });

      it('lists one processor’s executions', async () => {
        expect(await listed({ processorId: 'p-1' })).toEqual({
          ids: ['g', 'e', 'd', 'a'],
          total: 4,
        });
        expect(await listed({ processorId: 'p-3' })).toEqual({ ids: [], total: 0 });
      });

      it('lists the executions queued at or after `since`', async () => {
        expect(await listed({ since: new Date(at('e')) })).toEqual({
          ids: ['g', 'f', 'e'],
          total: 3,
        });
        expect(await listed({ since: new Date(at('e') + 1) })).toEqual({
          ids: ['g', 'f'],
          total: 2,
        });
        expect(await listed({ since: new Date(T0 + 3_600_000) })).toEqual({ ids: [], total: 0 });
      });

      it('lists what matches every criterion given', async () => {
        const filter: ExecutionFilter = {
          statuses: ['completed', 'failed', 'timeout'],
          processorId: 'p-1',
          since: new Date(at('b')),
        };
        expect(await listed(filter)).toEqual({ ids: ['g', 'd'], total: 2 });
      });

      it('pages through the matches; the total counts them all', async () => {
        const filter: ExecutionFilter = { processorId: 'p-1' };
        const page = async (offset: number, limit: number) => {
          const { items, total } = await store().list(offset, limit, 'tenant-a', filter);
          return { ids: items.map((item) => item.id), total };
        };
        expect(await page(0, 3)).toEqual({ ids: ['g', 'e', 'd'], total: 4 });
        expect(await page(3, 3)).toEqual({ ids: ['a'], total: 4 });
        expect(await page(6, 3)).toEqual({ ids: [], total: 4 });
        expect(await page(0, 0)).toEqual({ ids: [], total: 4 });
        const since = { since: new Date(at('c')) };
        const sincePage = await store().list(1, 2, 'tenant-a', since);
        expect(sincePage.items.map((item) => item.id)).toEqual(['f', 'e']);
        expect(sincePage.total).toBe(5);
      });

      it('never lists another tenant’s executions; every tenant’s with none named', async () => {
        expect((await listed({ processorId: 'p-1' }, 'tenant-b')).ids).toEqual(['x']);
        expect(await listed({ statuses: ['failed'], processorId: 'p-1' }, null)).toEqual({
          ids: ['x', 'g'],
          total: 2,
        });
        expect(await listed({ since: new Date(at('g')) }, null)).toEqual({
          ids: ['x', 'g'],
          total: 2,
        });
        expect(await listed({ statuses: ['failed'] }, 'nobody')).toEqual({ ids: [], total: 0 });
      });

      it('lists a batch in its own order, with the other filters, and pages through it', async () => {
        // Queued in the reverse of their places: the listing follows the places.
        const places: [string, number, ExecutionStatus][] = [
          ['b2', 2, 'completed'],
          ['b0', 0, 'failed'],
          ['b1', 1, 'completed'],
        ];
        for (const [i, [id, index, status]] of places.entries()) {
          const item = { ...record(id, status, 100 + i), batchId: 'batch-1', batchIndex: index };
          await store().create(item, INPUT);
        }
        await store().create(
          { ...record('o', 'completed', 200), batchId: 'batch-2', batchIndex: 0 },
          INPUT,
        );
        expect(await listed({ batchId: 'batch-1' })).toEqual({ ids: ['b0', 'b1', 'b2'], total: 3 });
        expect(await listed({ batchId: 'batch-1', statuses: ['completed'] })).toEqual({
          ids: ['b1', 'b2'],
          total: 2,
        });
        const second = await store().list(1, 1, 'tenant-a', { batchId: 'batch-1' });
        expect(second.items.map((item) => [item.id, item.batchId, item.batchIndex])).toEqual([
          ['b1', 'batch-1', 1],
        ]);
        expect(await listed({ batchId: 'batch-1' }, 'tenant-b')).toEqual({ ids: [], total: 0 });
        expect((await store().get('g'))?.batchId).toBeNull();
      });

      it('filters on the status as saved last, and as closeUnfinished left it', async () => {
        await store().save(record('f', 'running', at('f') - T0));
        expect((await listed({ statuses: ['running'] })).ids).toEqual(['f', 'e']);
        expect((await listed({ statuses: ['queued'] })).ids).toEqual([]);
        await store().closeUnfinished(new Date(T0 + 5000), 'restarted');
        expect((await listed({ statuses: ['running'] })).ids).toEqual([]);
        expect((await listed({ statuses: ['failed'] })).ids).toEqual(['g', 'f', 'e', 'b']);
      });
    });
  });
}

/** The record as tenant-b's, for `processorId`. */
function otherTenants(mine: ExecutionRecord, processorId: string): ExecutionRecord {
  return { ...mine, tenant: 'tenant-b', createdBy: 'key-b', processorId };
}
