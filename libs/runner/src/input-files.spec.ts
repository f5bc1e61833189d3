import { PassThrough, Readable, Writable } from 'node:stream';
import { InputFileError, JobInputFile, writeInputFiles } from './input-files';

/** An input file whose stream gives `chunks`, announced as `size` bytes. */
function inputFile(path: string, chunks: Buffer[], size = Buffer.concat(chunks).length) {
  const opened: Readable[] = [];
  const file: JobInputFile = {
    path,
    size,
    open: () => {
      const stream = Readable.from(chunks);
      opened.push(stream);
      return Promise.resolve(stream);
    },
  };
  return { file, opened };
}

/** A destination that keeps what is written to it; `written` waits for what is queued. */
function sink(highWaterMark?: number) {
  const chunks: Buffer[] = [];
  const queued = { most: 0 };
  const destination: Writable = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, done) {
      queued.most = Math.max(queued.most, destination.writableLength);
      chunks.push(chunk);
      setImmediate(done); // slow enough that a writer which ignores backpressure would pile up
    },
  });
  const written = async () => {
    await new Promise((resolve) => destination.write(Buffer.alloc(0), resolve));
    return Buffer.concat(chunks);
  };
  return { destination, written, queued };
}

const running = () => new AbortController().signal;

describe('writeInputFiles', () => {
  it('writes each file after the other, bytes as they are', async () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
    const { destination, written } = sink();
    const files = [
      inputFile('a.csv', [Buffer.from('a,b\n'), Buffer.from('1,2\n')]).file,
      inputFile('empty', []).file,
      inputFile('bin', [binary]).file,
    ];

    await writeInputFiles(destination, files, running());

    expect(destination.writableEnded).toBe(false); // the harness reads framed, never to EOF
    expect(await written()).toEqual(Buffer.concat([Buffer.from('a,b\n1,2\n'), binary]));
  });

  it('waits for the destination to drain rather than buffer a file', async () => {
    const { destination, written, queued } = sink(1024);
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(1024, 7));

    await writeInputFiles(destination, [inputFile('big', chunks).file], running());

    expect(await written()).toHaveLength(64 * 1024);
    expect(queued.most).toBeLessThanOrEqual(1024);
  });

  it('fails on a stream that gives fewer bytes than announced', async () => {
    const { destination } = sink();
    const short = inputFile('data/short.txt', [Buffer.from('abc')], 5).file;

    await expect(writeInputFiles(destination, [short], running())).rejects.toThrow(
      new InputFileError('data/short.txt', 'its stream gave 3 of 5 bytes'),
    );
  });

  it('fails on a stream that gives more, before writing the excess, and stops reading it', async () => {
    const { destination, written } = sink();
    const { file, opened } = inputFile('long', [Buffer.from('ab'), Buffer.from('cd')], 3);

    await expect(writeInputFiles(destination, [file], running())).rejects.toThrow(
      'input file "long": its stream gave more than 3 bytes',
    );
    expect((await written()).toString()).toBe('ab');
    expect(opened[0].destroyed).toBe(true);
  });

  it('fails, naming the file, when it cannot be opened or read', async () => {
    const { destination } = sink();
    const unopenable: JobInputFile = {
      path: 'gone',
      size: 1,
      open: () => Promise.reject(new Error('no such object')),
    };
    await expect(writeInputFiles(destination, [unopenable], running())).rejects.toThrow(
      'input file "gone": cannot open it: no such object',
    );

    const broken = new PassThrough();
    const unreadable: JobInputFile = { path: 'x', size: 10, open: () => Promise.resolve(broken) };
    const writing = writeInputFiles(destination, [unreadable], running());
    broken.write('abc');
    broken.destroy(new Error('connection reset'));
    await expect(writing).rejects.toThrow('input file "x": cannot read it: connection reset');
  });

  it('stops quietly once the destination is gone or the run is over', async () => {
    const gone = new PassThrough({ highWaterMark: 4 });
    const { file, opened } = inputFile('a', [Buffer.alloc(8), Buffer.alloc(8)]);
    const writing = writeInputFiles(
      gone,
      [file, inputFile('b', [Buffer.alloc(1)]).file],
      running(),
    );
    await new Promise((resolve) => setImmediate(resolve));
    gone.destroy();
    await expect(writing).resolves.toBeUndefined();
    expect(opened[0].destroyed).toBe(true);

    const over = new AbortController();
    const stuck = new PassThrough({ highWaterMark: 4 });
    const stopped = writeInputFiles(
      stuck,
      [inputFile('c', [Buffer.alloc(8), Buffer.alloc(8)]).file],
      over.signal,
    );
    await new Promise((resolve) => setImmediate(resolve));
    over.abort();
    await expect(stopped).resolves.toBeUndefined();
    expect(stuck.writableLength).toBe(8); // the second chunk was never written
  });
});
