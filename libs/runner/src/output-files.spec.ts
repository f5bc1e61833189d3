import { MAX_OMITTED_LISTED, MAX_REJECTION_REASONS } from './harness/harness-protocol';
import { OutputFileAssembler } from './output-files';

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** An assembler for a job that asked for up to `max_count` files of `max_bytes` in all. */
const assembler = (max_count = 10, max_bytes = 1024) =>
  new OutputFileAssembler({ max_count, max_bytes });

/** The files as text, for comparison. */
const texts = (assembled: OutputFileAssembler) =>
  assembled
    .outputFiles(null)
    ?.files.map(({ path, data }) => ({ path, text: data.toString('utf8') }));

describe('OutputFileAssembler', () => {
  it('joins the data frames of each file, a file of no bytes included', () => {
    const files = assembler();
    files.fileStarts('a.txt', 5);
    files.fileData(base64('hel'));
    files.fileData(base64('lo'));
    files.fileStarts('empty', 0);
    files.fileStarts('sub/b.bin', 3);
    files.fileData(Buffer.from([0, 255, 10]).toString('base64'));
    files.end();

    expect(files.outputFiles({ sent: 3, omitted: [], omitted_count: 0 })).toEqual({
      files: [
        { path: 'a.txt', data: Buffer.from('hello') },
        { path: 'empty', data: Buffer.alloc(0) },
        { path: 'sub/b.bin', data: Buffer.from([0, 255, 10]) },
      ],
      omitted: [],
      omittedCount: 0,
    });
    expect(files.rejectedFrames).toBe(0);
  });

  it('passes on what the harness omitted', () => {
    const files = assembler();
    files.end();

    expect(
      files.outputFiles({ sent: 0, omitted: [{ path: 'big', size: 5000 }], omitted_count: 7 }),
    ).toEqual({ files: [], omitted: [{ path: 'big', size: 5000 }], omittedCount: 7 });
  });

  it('applies the budget again: files over the count or the bytes are omitted, unkept', () => {
    const files = assembler(2, 10);
    files.fileStarts('a', 6);
    files.fileData(base64('aaaaaa'));
    files.fileStarts('too-big', 5);
    files.fileData(base64('bbbbb'));
    files.fileStarts('b', 4);
    files.fileData(base64('bbbb'));
    files.fileStarts('one-too-many', 0);
    files.end();

    expect(texts(files)).toEqual([
      { path: 'a', text: 'aaaaaa' },
      { path: 'b', text: 'bbbb' },
    ]);
    expect(
      files.outputFiles({ sent: 4, omitted: [{ path: 'z', size: 1 }], omitted_count: 1 }),
    ).toMatchObject({
      omitted: [
        { path: 'z', size: 1 },
        { path: 'too-big', size: 5 },
        { path: 'one-too-many', size: 0 },
      ],
      omittedCount: 3,
    });
    expect(files.rejectedFrames).toBe(0);
  });

  it(`lists at most ${MAX_OMITTED_LISTED} omitted files, and counts them all`, () => {
    const files = assembler(0);
    for (let index = 0; index < 5; index += 1) files.fileStarts(`over-${index}`, 0);
    files.end();
    const harnessListed = Array.from({ length: MAX_OMITTED_LISTED - 2 }, (_, index) => ({
      path: `omitted-${index}`,
      size: 1,
    }));

    const outputFiles = files.outputFiles({ sent: 0, omitted: harnessListed, omitted_count: 500 });

    expect(outputFiles?.omitted).toHaveLength(MAX_OMITTED_LISTED);
    expect(outputFiles?.omitted.at(-1)).toEqual({ path: 'over-1', size: 0 });
    expect(outputFiles?.omittedCount).toBe(505);
  });

  it('rejects data without a file before it', () => {
    const files = assembler();
    files.fileData(base64('stray'));
    files.end();

    expect(texts(files)).toEqual([]);
    expect(files.rejectedFrames).toBe(1);
    expect(files.rejectionReasons).toEqual(['file data without a file before it']);
  });

  it('drops a file sent more bytes than announced, and rejects its data after that', () => {
    const files = assembler();
    files.fileStarts('a', 2);
    files.fileData(base64('abc'));
    files.fileData(base64('d'));
    files.fileStarts('b', 1);
    files.fileData(base64('b'));
    files.end();

    expect(texts(files)).toEqual([{ path: 'b', text: 'b' }]);
    expect(files.rejectionReasons).toEqual([
      'file data past the 2 bytes announced',
      'file data without a file before it',
    ]);
  });

  it('drops a file whose bytes end short at the next file or at the exit frame', () => {
    const files = assembler();
    files.fileStarts('short', 4);
    files.fileData(base64('ab'));
    files.fileStarts('whole', 1);
    files.fileData(base64('w'));
    files.fileStarts('cut at the end', 2);
    files.end();

    expect(texts(files)).toEqual([{ path: 'whole', text: 'w' }]);
    expect(files.rejectionReasons).toEqual([
      'a file ended after 2 of the 4 bytes announced',
      'a file ended after 0 of the 2 bytes announced',
    ]);
  });

  it('gives a dropped file its share of the budget back', () => {
    const files = assembler(1, 4);
    files.fileStarts('short', 4);
    files.fileData(base64('ab'));
    files.fileStarts('whole', 4);
    files.fileData(base64('wxyz'));
    files.end();

    expect(texts(files)).toEqual([{ path: 'whole', text: 'wxyz' }]);
  });

  it('rejects files after the exit frame, and files of a job that asked for none', () => {
    const late = assembler();
    late.end();
    late.fileStarts('late', 0);
    expect(late.rejectionReasons).toEqual(['a file after the exit frame']);
    expect(late.outputFiles(null)).toEqual({ files: [], omitted: [], omittedCount: 0 });

    const unasked = new OutputFileAssembler(null);
    unasked.fileStarts('a', 1);
    unasked.fileData(base64('a'));
    unasked.end();
    expect(unasked.rejectionReasons).toEqual([
      'a file the job did not ask for',
      'file data without a file before it',
    ]);
    expect(unasked.outputFiles(null)).toBeNull();
  });

  it(`counts every rejection but keeps only the first ${MAX_REJECTION_REASONS} reasons`, () => {
    const files = assembler();
    for (let index = 0; index < MAX_REJECTION_REASONS + 2; index += 1) files.fileData('');

    expect(files.rejectedFrames).toBe(MAX_REJECTION_REASONS + 2);
    expect(files.rejectionReasons).toHaveLength(MAX_REJECTION_REASONS);
  });
});

/** The first bytes of a PNG of `width` x `height`: its signature and IHDR chunk. */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(8);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    Buffer.from('IHDR', 'latin1'),
    ihdr,
    Buffer.alloc(9),
  ]);
}

describe('OutputFileAssembler, figures', () => {
  const figures = (max_count = 5, max_bytes = 1024) =>
    new OutputFileAssembler(null, { max_count, max_bytes, max_pixels: 1_000_000 });

  it('joins each figure to its description, with the size its PNG header gives', () => {
    const png = pngHeader(640, 480);
    const assembled = figures();
    assembled.figureStarts(0, png.length);
    assembled.fileData(png.subarray(0, 10).toString('base64'));
    assembled.fileData(png.subarray(10).toString('base64'));
    assembled.end();

    expect(
      assembled.figures(
        [
          { index: 0, title: 'Loss', error: null },
          { index: 1, title: null, error: 'ValueError: bad artist' },
        ],
        2,
      ),
    ).toEqual({
      figures: [
        { index: 0, title: 'Loss', png: { data: png, width: 640, height: 480 }, error: null },
        { index: 1, title: null, png: null, error: 'ValueError: bad artist' },
      ],
      omittedCount: 2,
    });
  });

  it('says when a described figure did not arrive, or is not a PNG; drops an undescribed one', () => {
    const assembled = figures();
    assembled.figureStarts(0, 3);
    assembled.fileData(base64('GIF'));
    assembled.figureStarts(7, 3);
    assembled.fileData(base64('xyz'));
    assembled.end();

    expect(
      assembled.figures(
        [
          { index: 0, title: null, error: null },
          { index: 1, title: null, error: null },
        ],
        0,
      )?.figures,
    ).toEqual([
      { index: 0, title: null, png: null, error: 'its image is not a PNG' },
      { index: 1, title: null, png: null, error: 'its image did not arrive' },
    ]);
  });

  it('applies the figures budget again, apart from the output files one', () => {
    const png = pngHeader(10, 10);
    const assembled = figures(1, png.length);
    for (const index of [0, 1]) {
      assembled.figureStarts(index, png.length);
      assembled.fileData(png.toString('base64'));
    }
    assembled.figureStarts(0, 0);
    assembled.end();

    const described = [0, 1].map((index) => ({ index, title: null, error: null }));
    expect(assembled.figures(described, 0)?.figures.map((figure) => figure.error)).toEqual([
      null,
      'its image did not arrive',
    ]);
    expect(assembled.rejectionReasons).toEqual(['figure 0 sent twice']);
  });

  it('rejects figures of a job that asked for none, and answers null for them', () => {
    const unasked = new OutputFileAssembler(null);
    unasked.figureStarts(0, 1);
    unasked.end();

    expect(unasked.rejectionReasons).toEqual(['figures the job did not ask for']);
    expect(unasked.figures([{ index: 0, title: null, error: null }], 0)).toBeNull();
    expect(figures().figures(null, 0)).toBeNull();
  });
});
