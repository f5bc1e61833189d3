import { isFileId, newFileId } from './file-id';

describe('newFileId', () => {
  it('makes ids that sort in creation order, to the millisecond', () => {
    const times = [0, 1, 31, 32, 1_700_000_000_000, 1_700_000_000_001, 4_102_444_800_000];
    const ids = times.map((ms) => newFileId(new Date(ms)));
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every(isFileId)).toBe(true);
  });

  it('makes a different id each time, in the same millisecond too', () => {
    const at = new Date();
    const ids = new Set(Array.from({ length: 1000 }, () => newFileId(at)));
    expect(ids.size).toBe(1000);
  });

  it('tells file ids from anything a file or key name could be made of', () => {
    const id = newFileId(new Date());
    for (const other of ['', 'file_', `${id}:0`, `${id}.partial`, `../${id}`, id.toUpperCase()]) {
      expect(isFileId(other)).toBe(false);
    }
  });
});
