import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ContentMeter, chunked } from './file-content';
import { FileTooLargeError } from './file-store';

/** Pieces of the sizes given, as a stream gives them. */
function pieces(...sizes: number[]): AsyncIterable<Buffer> {
  let at = 0;
  return Readable.from(
    sizes.map((size) => {
      at += size;
      return Buffer.from(Array.from({ length: size }, (_, i) => (at - size + i) % 251));
    }),
  );
}

async function all(iterable: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const found: Buffer[] = [];
  for await (const item of iterable) found.push(item);
  return found;
}

describe('ContentMeter', () => {
  it('passes content on as it comes, counting and hashing it', async () => {
    const meter = new ContentMeter(10);
    const passed = await all(meter.measure(pieces(4, 0, 6)));
    const content = Buffer.concat(passed);
    expect(passed.map((piece) => piece.length)).toEqual([4, 0, 6]);
    expect(meter.size).toBe(10);
    expect(meter.sha256()).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('throws before passing on the piece that goes past its maximum', async () => {
    const passed: Buffer[] = [];
    const measuring = (async () => {
      for await (const piece of new ContentMeter(10).measure(pieces(6, 5))) passed.push(piece);
    })();
    await expect(measuring).rejects.toEqual(new FileTooLargeError(10));
    expect(passed.map((piece) => piece.length)).toEqual([6]);
  });
});

describe('chunked', () => {
  it('cuts and joins pieces into chunks of the size given, the last one shorter', async () => {
    const chunks = await all(chunked(pieces(3, 10, 1, 0, 2), 4));
    expect(chunks.map((chunk) => chunk.length)).toEqual([4, 4, 4, 4]);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat(await all(pieces(3, 10, 1, 0, 2))));
    expect((await all(chunked(pieces(5), 4))).map((chunk) => chunk.length)).toEqual([4, 1]);
    expect(await all(chunked(pieces(), 4))).toEqual([]);
  });
});
