import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ExecutionRecord, FileStore, NewFile, StoredFile } from '@brain-net/store';
import { InMemoryFileStore } from '@brain-net/store/files/testing/in-memory-file-store';
import { DomainError } from '../errors/domain-error';
import { OutputFileKeeper } from './output-files';

/** An in-memory store that refuses the saves whose names are listed. */
class RefusingStore extends InMemoryFileStore {
  constructor(private readonly refused: readonly string[]) {
    super();
  }

  override save(file: NewFile): Promise<StoredFile> {
    if (this.refused.includes(file.name)) return Promise.reject(new Error('disk full'));
    return super.save(file);
  }
}

const png = (body: string) => ({ data: Buffer.from(body), width: 4, height: 3 });

describe('OutputFileKeeper, figures', () => {
  const executionId = 'exec-1';

  function keeper(store: FileStore = new InMemoryFileStore()) {
    return new OutputFileKeeper(store);
  }

  it('stores each rendered figure as the execution’s PNG and keeps the failed ones in place', async () => {
    const store = new InMemoryFileStore();
    const kept = await keeper(store).keepFigures(
      {
        figures: [
          { index: 0, title: 'a', png: png('first'), error: null },
          { index: 1, title: null, png: null, error: 'RuntimeError: no' },
        ],
        omittedCount: 2,
      },
      'tenant-a',
      executionId,
    );

    expect(kept.omittedCount).toBe(2);
    expect(kept.figures[1]).toEqual({
      index: 1,
      title: null,
      image: null,
      error: 'RuntimeError: no',
    });
    const [first] = kept.figures;
    expect(first).toMatchObject({ index: 0, title: 'a', error: null });
    expect(first.image).toMatchObject({ width: 4, height: 3, size: 5 });
    const stored = await store.get('tenant-a', first.image?.fileId ?? '');
    expect(stored).toMatchObject({
      name: 'figure-0.png',
      mediaType: 'image/png',
      owner: { kind: 'execution', executionId },
    });
    // Another tenant's read of the same id finds nothing.
    expect(await store.get('tenant-b', first.image?.fileId ?? '')).toBeNull();
  });

  it('gives a figure the store refuses an error instead of failing the result', async () => {
    const kept = await keeper(new RefusingStore(['figure-1.png'])).keepFigures(
      {
        figures: [0, 1].map((index) => ({ index, title: null, png: png('x'), error: null })),
        omittedCount: 0,
      },
      't',
      executionId,
    );

    expect(kept.figures.map((figure) => figure.error)).toEqual([null, 'it could not be stored']);
  });

  it('opens a kept figure by its index as the path gives it, and refuses anything else', async () => {
    const files = keeper();
    const figures = await files.keepFigures(
      {
        figures: [
          { index: 0, title: null, png: png('image bytes'), error: null },
          { index: 1, title: null, png: null, error: 'ValueError: bad' },
        ],
        omittedCount: 0,
      },
      't',
      executionId,
    );
    const record = { id: executionId, tenant: 't', figures } as ExecutionRecord;

    const [image, content] = await files.openFigure(record, '0');
    expect(image.size).toBe(11);
    expect(await text(Readable.from(content))).toBe('image bytes');
    for (const index of ['1', '2', '00', ' 0', 'zero']) {
      await expect(files.openFigure(record, index)).rejects.toBeInstanceOf(DomainError);
    }
    await expect(files.openFigure(record, '1')).rejects.toThrow('image: ValueError: bad');
    await expect(files.openFigure({ ...record, figures: null }, '0')).rejects.toThrow(
      `Execution ${executionId} has no figure 0.`,
    );
  });
});
