import type { ExecutionStore } from '../execution-store';
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

    it('saves nothing, and says so, for a record it does not hold', async () => {
      expect(await store().save(record('missing', 'running'))).toBe(false);
      expect(await store().get('missing')).toBeUndefined();
    });
  });
}
