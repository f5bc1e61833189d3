/**
 * The sandbox harness, specified by running it: every case starts the harness's
 * bootstrap with this machine's `python3`, as a container would, writes the harness
 * and one payload to its stdin and reads the JSON-lines frames it prints (see
 * PROTOCOL.md), through the runner's own decoder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type {
  BatchMessage,
  FiguresRequest,
  HarnessException,
  HarnessMessage,
  HarnessPayload,
  HarnessProfile,
  HarnessResult,
  HarnessVariable,
  OutputFilesRequest,
  OutputStream,
} from './harness-protocol';
import {
  BatchFrameDecoder,
  HarnessFrameDecoder,
  MAX_FILE_CHUNK_BYTES,
  MAX_EXIT_FRAME_BYTES,
  MAX_FRAME_BYTES,
  encodePayload,
} from './harness-protocol';
import { HARNESS_COMMAND, HARNESS_SOURCE, harnessFrame } from './harness-program';
import { OutputFileAssembler, OutputFiles } from '../output-files';

/** For cases that wait on a timeout or a slow child process. */
const SLOW = 15_000;

const DEFAULT_PAYLOAD: Omit<HarnessPayload, 'code'> = {
  input_data: null,
  debug_mode: true,
  max_output_bytes: 1024 * 1024,
  time_limit_s: 10,
  filename: 'main.py',
};

type ExitMessage = Extract<HarnessMessage, { type: 'exit' }>;

interface HarnessRun {
  /** Every frame, in order. */
  readonly frames: HarnessMessage[];
  /** The data of all stdout frames, joined. */
  readonly stdout: string;
  /** The data of all stderr frames, joined. */
  readonly stderr: string;
  /** Bytes of the last line, the exit frame, newline included. */
  readonly lastLineBytes: number;
  readonly elapsedMs: number;
}

/**
 * Runs the harness with `payload` (fields not given take DEFAULT_PAYLOAD's
 * values; a string is sent as the JSON text, framed; a Buffer is sent as is) and
 * collects its frames. Fails unless the harness exits 0 with nothing on its own
 * stderr and only valid frames on stdout.
 */
function runHarness(
  payload: (Partial<HarnessPayload> & Pick<HarnessPayload, 'code'>) | string | Buffer,
  env: Record<string, string> = {},
  payloadDelayMs = 0,
): Promise<HarnessRun> {
  const input = Buffer.isBuffer(payload)
    ? payload
    : encodePayload(typeof payload === 'string' ? payload : { ...DEFAULT_PAYLOAD, ...payload });
  const started = Date.now();
  return spawnHarness(input, env, payloadDelayMs, (output) => {
    const decoder = new HarnessFrameDecoder(MAX_FRAME_BYTES);
    const frames = decoder.push(output);
    return {
      rejections: decoder.rejectionReasons,
      run: {
        frames,
        stdout: outputOf(frames, 'stdout'),
        stderr: outputOf(frames, 'stderr'),
        lastLineBytes: output.length - (output.lastIndexOf(0x0a, -2) + 1),
        elapsedMs: Date.now() - started,
      },
    };
  });
}

function canImport(python: string, modules: readonly string[]): boolean {
  return spawnSync(python, ['-I', '-c', `import ${modules.join(', ')}`]).status === 0;
}

/**
 * The python3 the harness runs under here: the first with the libraries the figures and
 * previews cases need (Debian's is the runtime image's own Python, and `npm test` gives
 * it them), else the one on PATH.
 */
const HARNESS_PYTHON =
  ['python3', '/usr/bin/python3'].find((python) =>
    canImport(python, ['numpy', 'pandas', 'matplotlib']),
  ) ?? 'python3';

/**
 * Starts the harness's bootstrap with `input` after the harness (`payloadDelayMs` later, as
 * a warm container gets its job), in a fresh working directory, and decodes its stdout with
 * `decode`. Fails unless the harness exits 0 with nothing on its own stderr and only valid
 * frames on stdout, newline-terminated.
 */
function spawnHarness<T>(
  input: Buffer,
  env: Record<string, string>,
  payloadDelayMs: number,
  decode: (output: Buffer) => { run: T; rejections: readonly string[] },
): Promise<T> {
  const [, ...args] = HARNESS_COMMAND;
  // A fresh working directory, as a container's /tmp is: the worker writes main.py there.
  const workdir = mkdtempSync(join(tmpdir(), 'harness-'));
  const child = spawn(HARNESS_PYTHON, args, { cwd: workdir, env: { ...process.env, ...env } });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  // A harness that dies before reading its stdin is reported by 'close' below.
  child.stdin.on('error', () => undefined);
  if (payloadDelayMs === 0) child.stdin.end(Buffer.concat([harnessFrame(null), input]));
  else {
    child.stdin.write(harnessFrame(null));
    setTimeout(() => child.stdin.end(input), payloadDelayMs);
  }

  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      rmSync(workdir, { recursive: true, force: true });
      const output = Buffer.concat(stdout);
      const ownStderr = Buffer.concat(stderr).toString('utf8');
      const { run, rejections } = decode(output);
      if (code !== 0 || ownStderr !== '' || output.at(-1) !== 0x0a || rejections.length > 0) {
        reject(
          new Error(
            `harness ended with code ${code}, signal ${signal}:\n${ownStderr}\n` +
              `rejected lines: ${rejections.join('; ')}\n` +
              `stdout:\n${output.subarray(0, 10_000).toString('utf8')}`,
          ),
        );
        return;
      }
      resolve(run);
    });
  });
}

/**
 * Runs the harness with `payload` and the input files `files` (path, bytes), which are
 * announced in the payload and sent after it, as the runner sends them.
 */
function runHarnessWithFiles(
  payload: Partial<HarnessPayload> & Pick<HarnessPayload, 'code'>,
  files: readonly (readonly [string, Buffer | string])[],
): Promise<HarnessRun> {
  const contents = files.map(([, data]) => Buffer.from(data));
  const announced = files.map(([path], index) => ({ path, size: contents[index].length }));
  return runHarness(
    Buffer.concat([
      encodePayload({ ...DEFAULT_PAYLOAD, ...payload, files: announced }),
      ...contents,
    ]),
  );
}

/** The output files of a run that asked for them with `request`, put together as the runner does. */
function outputFilesOf(run: HarnessRun, request: OutputFilesRequest): OutputFiles {
  const assembler = new OutputFileAssembler(request);
  for (const frame of run.frames) {
    if (frame.type === 'file') assembler.fileStarts(frame.path, frame.size);
    if (frame.type === 'file_data') assembler.fileData(frame.data);
  }
  assembler.end();
  expect(assembler.rejectionReasons).toEqual([]);
  const outputFiles = assembler.outputFiles(exitOf(run).output_files);
  if (outputFiles === null) throw new Error('no output files');
  return outputFiles;
}

function outputOf(frames: HarnessMessage[], stream: OutputStream): string {
  return frames.map((frame) => (frame.type === stream ? frame.data : '')).join('');
}

/** The exit frame, which must be the last one. */
function exitOf(run: HarnessRun): ExitMessage {
  const last = run.frames[run.frames.length - 1];
  if (last === undefined || last.type !== 'exit') {
    throw new Error(`the last frame is not an exit frame: ${JSON.stringify(run.frames)}`);
  }
  return last;
}

/** The message of the harness_error frame, which must be the only frame. */
function harnessErrorOf(run: HarnessRun): string {
  const [frame] = run.frames;
  if (run.frames.length !== 1 || frame.type !== 'harness_error') {
    throw new Error(`expected a lone harness_error frame: ${JSON.stringify(run.frames)}`);
  }
  return frame.message;
}

function resultOf(run: HarnessRun): HarnessResult {
  const { result } = exitOf(run);
  if (result === null) throw new Error('the worker sent no result');
  return result;
}

function variablesOf(run: HarnessRun): Record<string, HarnessVariable> {
  const variables = resultOf(run).variables_after;
  if (variables === null) throw new Error('the result has no variables');
  return variables;
}

function onlyExceptionOf(run: HarnessRun): HarnessException {
  const { exceptions } = resultOf(run);
  expect(exceptions).toHaveLength(1);
  return exceptions[0];
}

/** "Type: message" of an exception and each of its causes, outermost first. */
function chainOf(exception: HarnessException): string[] {
  const chain: string[] = [];
  for (let link: HarnessException | null = exception; link !== null; link = link.cause) {
    chain.push(`${link.type}: ${link.message}`);
  }
  return chain;
}

/** Python source, one argument per line. */
function py(...lines: string[]): string {
  return lines.join('\n');
}

/**
 * Python that writes `data` (a bytes expression) to the worker's result pipe, runs
 * `then`, and exits without reporting. The pipe is the one write end above fd 2 that
 * is not inheritable: anything else above 2 came from whatever started the test, and
 * must not be written to.
 */
function forgeResult(data: string, ...then: string[]): string {
  return py(
    'import fcntl, json, os, stat',
    'def is_result_pipe(fd):',
    '    try:',
    '        return (stat.S_ISFIFO(os.fstat(fd).st_mode) and not os.get_inheritable(fd)',
    '                and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY)',
    '    except OSError:',
    '        return False  # the directory listdir had open',
    '[result_pipe] = [fd for fd in map(int, os.listdir("/proc/self/fd")) if fd > 2 and is_result_pipe(fd)]',
    'with open(result_pipe, "wb", closefd=False) as pipe:',
    `    pipe.write(${data})`,
    ...then,
    'os._exit(0)',
  );
}

/** A forged result's JSON text: a well-formed, empty result, with `fields` instead of its own (undefined: left out). */
function forged(fields: Record<string, unknown>): string {
  return JSON.stringify({
    duration_ms: 1,
    exceptions: [],
    variables_after: null,
    variables_omitted: 0,
    figures: null,
    figures_omitted: 0,
    profile: null,
    ...fields,
  });
}

const figure = (index: number) => ({ index, title: null, error: null });
const PROFILE = {
  functions: [],
  functions_omitted: 0,
  allocations: [],
  peak_traced_bytes: 0,
  imports: [],
  imports_omitted: 0,
  error: null,
};
const VARIABLE = { type: 't', repr: 'r', truncated: false };

describe('sandbox harness', () => {
  describe('running code', () => {
    it('forwards what the code prints, then reports a clean exit', async () => {
      const run = await runHarness({ code: 'print("hello, world")' });

      expect(run.frames).toEqual([
        { type: 'stdout', data: 'hello, world\n' },
        expect.objectContaining({
          type: 'exit',
          exit_code: 0,
          signal: null,
          harness_timeout: false,
          stdout_bytes: 13,
          stderr_bytes: 0,
        }),
      ]);
      expect(resultOf(run).exceptions).toEqual([]);
    });

    it('binds the payload input_data as the global input_data', async () => {
      const run = await runHarness({
        code: 'print(input_data["numbers"][1] * 2)',
        input_data: { numbers: [1, 21] },
      });

      expect(run.stdout).toBe('42\n');
    });

    it('keeps stdout and stderr apart', async () => {
      const run = await runHarness({
        code: py('import sys', 'print("to stdout")', 'print("to stderr", file=sys.stderr)'),
      });

      expect(run.stdout).toBe('to stdout\n');
      expect(run.stderr).toBe('to stderr\n');
      expect(exitOf(run)).toMatchObject({ stdout_bytes: 10, stderr_bytes: 10 });
    });

    it('forwards bytes written straight to fd 1 and output of programs the code starts', async () => {
      const run = await runHarness({
        code: py(
          'import os, subprocess',
          'os.write(1, b"raw bytes\\n")',
          'subprocess.run(["echo", "from a child"])',
        ),
      });

      expect(run.stdout).toBe('raw bytes\nfrom a child\n');
    });

    it(
      'times the code and reports the worker resource use',
      async () => {
        const run = await runHarness({
          code: py(
            'import time',
            'block = bytearray(32 * 1024 * 1024)',
            'end = time.process_time() + 0.2',
            'while time.process_time() < end:',
            '    pass',
          ),
        });

        const exit = exitOf(run);
        expect(exit.max_rss_kb).toBeGreaterThan(32 * 1024);
        expect(exit.cpu_time_ms).toBeGreaterThanOrEqual(200);
        expect(resultOf(run).duration_ms).toBeGreaterThanOrEqual(200);
      },
      SLOW,
    );
  });

  describe('stdin', () => {
    it('gives input() the lines of stdin, then EOFError', async () => {
      const run = await runHarness({
        code: py(
          'first = input()',
          'second = input("prompt> ")',
          'print(repr(first), repr(second))',
          'try:',
          '    input()',
          'except EOFError:',
          '    print("EOF")',
        ),
        stdin: 'first line\nsecond, é€😀\n',
      });

      // The prompt goes to stdout, as under `python main.py < file`.
      expect(run.stdout).toBe("prompt> 'first line' 'second, é€😀'\nEOF\n");
      expect(resultOf(run).exceptions).toEqual([]);
    });

    it('is read alike by sys.stdin.read(), iteration, the binary buffer, fd 0 and a child', async () => {
      const stdin = 'a\nb\nno newline at the end';
      const cases = {
        'print(repr(sys.stdin.read()))': `'a\\nb\\nno newline at the end'\n`,
        'print([line for line in sys.stdin])': `['a\\n', 'b\\n', 'no newline at the end']\n`,
        'print(sys.stdin.buffer.read().split())': `[b'a', b'b', b'no', b'newline', b'at', b'the', b'end']\n`,
        'print(os.read(0, 100))': `b'a\\nb\\nno newline at the end'\n`,
        'subprocess.run(["wc", "-l"])': '2\n',
      };
      for (const [line, expected] of Object.entries(cases)) {
        const run = await runHarness({ code: py('import os, subprocess, sys', line), stdin });
        expect(`${line}: ${run.stdout}`).toBe(`${line}: ${expected}`);
      }
    });

    it('is empty without it: EOF at once, and none of the harness’s own stdin', async () => {
      for (const stdin of [undefined, null, '']) {
        const run = await runHarness({
          code: py('import os, sys', 'print(repr(sys.stdin.read()), os.read(0, 100))', 'input()'),
          ...(stdin !== undefined && { stdin }),
        });
        expect(run.stdout).toBe("'' b''\n");
        expect(resultOf(run).exceptions[0]).toMatchObject({ type: 'EOFError', line: 3 });
      }
    });

    it('carries 1 MiB whole, and a lone surrogate as "?"', async () => {
      const big = await runHarness({
        code: 'import sys\nprint(len(sys.stdin.buffer.read()))',
        stdin: 'é'.repeat(512 * 1024),
      });
      expect(big.stdout).toBe(`${1024 * 1024}\n`);

      const lone = await runHarness({
        code: 'import sys\nprint(repr(sys.stdin.read()))',
        stdin: 'a\ud800b',
      });
      expect(lone.stdout).toBe("'a?b'\n");
    });
  });

  describe('input files', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));

    it('puts them in the working directory before the code starts, nested ones too', async () => {
      const run = await runHarnessWithFiles(
        {
          code: py(
            'import os',
            'print(repr(open("data/input.csv").read()))',
            'print(open("bytes.bin", "rb").read() == bytes(range(256)))',
            'print(open("a/b/c/deep.txt").read(), os.path.getsize("empty"))',
            'print(sorted(os.listdir(".")))',
          ),
        },
        [
          ['data/input.csv', 'a,b\n1,2\né,€\n'],
          ['bytes.bin', bytes],
          ['a/b/c/deep.txt', 'deep'],
          ['empty', ''],
        ],
      );

      expect(run.stdout).toBe(
        "'a,b\\n1,2\\né,€\\n'\nTrue\ndeep 0\n" + "['a', 'bytes.bin', 'data', 'empty', 'main.py']\n",
      );
      expect(exitOf(run)).toMatchObject({ exit_code: 0, output_files: null });
    });

    it('carries a file of several MiB whole', async () => {
      const big = Buffer.alloc(5 * 1024 * 1024 + 3, 'xyz');
      const run = await runHarnessWithFiles(
        { code: 'import hashlib\nprint(hashlib.sha256(open("big", "rb").read()).hexdigest())' },
        [['big', big]],
      );

      const { createHash } = await import('node:crypto');
      expect(run.stdout).toBe(`${createHash('sha256').update(big).digest('hex')}\n`);
    });

    it.each([
      ['a path with ..', '../escape.txt'],
      ['an absolute path', '/tmp/absolute.txt'],
      ['a path with an empty part', 'data//x'],
      ['a path with .', './x'],
      ['the code’s own file', 'main.py'],
    ])('refuses %s with a harness_error naming it, running nothing', async (_case, path) => {
      const run = await runHarnessWithFiles({ code: 'print("ran")' }, [[path, 'x']]);

      expect(harnessErrorOf(run)).toBe(`bad payload: input file path '${path}' is refused`);
    });

    it('reports a file it cannot write, naming it', async () => {
      const run = await runHarnessWithFiles({ code: 'print("ran")' }, [
        ['twice.txt', 'a'],
        ['twice.txt', 'b'],
      ]);

      expect(harnessErrorOf(run)).toMatch(/^input file 'twice.txt': \[Errno 17\] File exists/);
    });

    it('reports a file whose bytes end before its size', async () => {
      const payload = encodePayload({
        ...DEFAULT_PAYLOAD,
        code: 'print("ran")',
        files: [{ path: 'short.txt', size: 10 }],
      });
      const run = await runHarness(Buffer.concat([payload, Buffer.from('abc')]));

      expect(harnessErrorOf(run)).toBe(
        "input file 'short.txt': 3 bytes arrived of the 10 announced",
      );
    });
  });

  describe('output files', () => {
    const request: OutputFilesRequest = { max_count: 10, max_bytes: 1024 * 1024 };

    it('sends back the files under out/ byte for byte, in path order', async () => {
      const run = await runHarness({
        code: py(
          'import os',
          'os.makedirs("out/plots/2024")',
          'open("out/b.txt", "w").write("bee")',
          'open("out/plots/2024/all.bin", "wb").write(bytes(range(256)) * 3)',
          'open("out/a.txt", "w").write("ay\\n")',
          'open("out/empty", "w").close()',
          'open("not-out.txt", "w").write("stays")',
        ),
        output_files: request,
      });

      const { files, omitted, omittedCount } = outputFilesOf(run, request);
      expect(files.map(({ path }) => path)).toEqual([
        'a.txt',
        'b.txt',
        'empty',
        'plots/2024/all.bin',
      ]);
      expect(files[0].data).toEqual(Buffer.from('ay\n'));
      expect(files[2].data).toEqual(Buffer.alloc(0));
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
      expect(files[3].data).toEqual(Buffer.concat([bytes, bytes, bytes]));
      expect({ omitted, omittedCount }).toEqual({ omitted: [], omittedCount: 0 });
      expect(exitOf(run).output_files).toEqual({ sent: 4, omitted: [], omitted_count: 0 });
      // File frames come after the code's output, before the exit frame.
      expect(run.frames.map((frame) => frame.type)).toEqual([
        'file',
        'file_data',
        'file',
        'file_data',
        'file',
        'file',
        'file_data',
        'exit',
      ]);
    });

    it(`sends a large file in data frames of at most ${MAX_FILE_CHUNK_BYTES} bytes`, async () => {
      const size = 3 * MAX_FILE_CHUNK_BYTES + 5;
      const run = await runHarness({
        code: `import os\nos.mkdir("out")\nopen("out/big", "wb").write(os.urandom(${size}))`,
        output_files: request,
      });

      const dataFrames = run.frames.filter((frame) => frame.type === 'file_data');
      expect(dataFrames).toHaveLength(4);
      expect(outputFilesOf(run, request).files[0].data).toHaveLength(size);
    });

    it('omits a file over what is left of max_bytes, lists it, and sends smaller ones after it', async () => {
      const run = await runHarness({
        code: py(
          'import os',
          'os.mkdir("out")',
          'open("out/1-small", "wb").write(b"a" * 600)',
          'open("out/2-too-big", "wb").write(b"b" * 500)',
          'open("out/3-fits", "wb").write(b"c" * 400)',
        ),
        output_files: { max_count: 10, max_bytes: 1000 },
      });

      const outputFiles = outputFilesOf(run, { max_count: 10, max_bytes: 1000 });
      expect(outputFiles.files.map(({ path }) => path)).toEqual(['1-small', '3-fits']);
      expect(outputFiles.omitted).toEqual([{ path: '2-too-big', size: 500 }]);
      expect(outputFiles.omittedCount).toBe(1);
    });

    it('sends at most max_count files, and counts the others', async () => {
      const budget = { max_count: 2, max_bytes: 1000 };
      const run = await runHarness({
        code: py(
          'import os',
          'os.mkdir("out")',
          'for index in range(5):',
          '    open(f"out/{index}.txt", "w").write(str(index))',
        ),
        output_files: budget,
      });

      const outputFiles = outputFilesOf(run, budget);
      expect(outputFiles.files.map(({ path }) => path)).toEqual(['0.txt', '1.txt']);
      expect(outputFiles.omitted.map(({ path }) => path)).toEqual(['2.txt', '3.txt', '4.txt']);
      expect(exitOf(run).output_files).toEqual({
        sent: 2,
        omitted: outputFiles.omitted,
        omitted_count: 3,
      });
    });

    it('lists at most 100 omitted files', async () => {
      const budget = { max_count: 0, max_bytes: 1000 };
      const run = await runHarness({
        code: py(
          'import os',
          'os.mkdir("out")',
          'for i in range(150):',
          '    open(f"out/{i:03}", "w").close()',
        ),
        output_files: budget,
      });

      expect(exitOf(run).output_files).toMatchObject({ sent: 0, omitted_count: 150 });
      expect(exitOf(run).output_files?.omitted).toHaveLength(100);
      expect(exitOf(run).output_files?.omitted.at(-1)).toEqual({ path: '099', size: 0 });
    });

    it('follows no symlink and skips fifos: only regular files are sent', async () => {
      const run = await runHarness({
        code: py(
          'import os',
          'os.makedirs("elsewhere")',
          'open("elsewhere/secret.txt", "w").write("not out")',
          'os.mkdir("out")',
          'os.symlink("/etc/passwd", "out/link")',
          'os.symlink("../elsewhere", "out/linked-dir")',
          'os.mkfifo("out/fifo")',
          'open("out/real.txt", "w").write("real")',
        ),
        output_files: request,
      });

      const outputFiles = outputFilesOf(run, request);
      expect(outputFiles.files).toEqual([{ path: 'real.txt', data: Buffer.from('real') }]);
      expect(outputFiles.omittedCount).toBe(0);
    });

    it('sends nothing from an out/ that is a symlink to a directory', async () => {
      const run = await runHarness({
        code: py(
          'import os',
          'os.mkdir("real")',
          'open("real/x", "w").write("x")',
          'os.symlink("real", "out")',
        ),
        output_files: request,
      });

      expect(exitOf(run).output_files).toEqual({ sent: 0, omitted: [], omitted_count: 0 });
    });

    it.each([
      ['an empty out/', 'import os\nos.mkdir("out")'],
      ['no out/', 'pass'],
      ['out as a file', 'open("out", "w").write("x")'],
    ])('sends nothing from %s', async (_case, code) => {
      const run = await runHarness({ code, output_files: request });

      expect(run.frames).toHaveLength(1);
      expect(exitOf(run).output_files).toEqual({ sent: 0, omitted: [], omitted_count: 0 });
    });

    it('collects nothing when the job asks for none', async () => {
      const run = await runHarness({
        code: 'import os\nos.mkdir("out")\nopen("out/a", "w").write("a")',
      });

      expect(run.frames).toHaveLength(1);
      expect(exitOf(run).output_files).toBeNull();
    });

    it('sends what the code left even when it failed or timed out', async () => {
      const failed = await runHarness({
        code: 'import os\nos.mkdir("out")\nopen("out/partial", "w").write("so far")\n1 / 0',
        output_files: request,
      });
      expect(outputFilesOf(failed, request).files).toEqual([
        { path: 'partial', data: Buffer.from('so far') },
      ]);

      const timedOut = await runHarness({
        code: 'import os, time\nos.mkdir("out")\nopen("out/t", "w").write("t")\ntime.sleep(60)',
        time_limit_s: 0.5,
        output_files: request,
      });
      expect(exitOf(timedOut).harness_timeout).toBe(true);
      expect(outputFilesOf(timedOut, request).files.map(({ path }) => path)).toEqual(['t']);
    });

    it('passes input files to the code and its results back in one run', async () => {
      const run = await runHarnessWithFiles(
        {
          code: py(
            'import os',
            'os.mkdir("out")',
            'data = open("in/data.bin", "rb").read()',
            'open("out/reversed.bin", "wb").write(data[::-1])',
          ),
          output_files: request,
        },
        [['in/data.bin', Buffer.from([1, 2, 3, 0, 255])]],
      );

      expect(outputFilesOf(run, request).files).toEqual([
        { path: 'reversed.bin', data: Buffer.from([255, 0, 3, 2, 1]) },
      ]);
    });
  });

  describe('as `python main.py` would run it, at the cost of `python -c`', () => {
    it('imports nothing that a job without an exception or debug mode does not need', async () => {
      const code = py(
        'import sys',
        "heavy = ['re', 'enum', 'json', 'signal', 'selectors', 'traceback', 'linecache', 'tokenize', 'reprlib']",
        'print(sorted(name for name in heavy if name in sys.modules))',
      );
      const run = await runHarness({ code, debug_mode: false });

      // What this machine's Python imports at start-up anyway (site may import re).
      const bare = spawnSync(HARNESS_PYTHON, ['-I', '-c', code], { encoding: 'utf8' });
      expect(run.stdout).toBe(bare.stdout);
    });

    it('gives the code its file: __file__, warnings and tracebacks show its lines', async () => {
      const run = await runHarness({
        code: py(
          'import inspect, os, traceback, warnings',
          'def careful():',
          '    warnings.warn("mind the gap")',
          'careful()',
          'try:',
          '    {}["missing"]',
          'except KeyError:',
          '    traceback.print_exc()',
          'print(__file__, os.path.exists(__file__), inspect.getsource(careful).splitlines()[0])',
        ),
      });

      expect(run.stdout).toBe('main.py True def careful():\n');
      expect(run.stderr).toContain(
        'main.py:3: UserWarning: mind the gap\n  warnings.warn("mind the gap")\n',
      );
      expect(run.stderr).toContain('File "main.py", line 6, in <module>\n    {}["missing"]\n');
    });

    it('reports an exception with its source lines when the code used up its open files', async () => {
      const run = await runHarness({
        code: py(
          'import resource',
          'resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))',
          'kept = []',
          'while True:',
          '    kept.append(open("/dev/null"))',
        ),
      });

      expect(resultOf(run).exceptions).toMatchObject([
        {
          type: 'OSError',
          line: 5,
          frames: [{ file: 'main.py', line: 5, source: 'kept.append(open("/dev/null"))' }],
        },
      ]);
      expect(run.stderr).toContain('    kept.append(open("/dev/null"))\n');
      expect(variablesOf(run).kept).toMatchObject({ type: 'list' });
    });

    it('reports an exception with its source lines after the code emptied sys.path', async () => {
      const run = await runHarness({
        code: py('import sys', 'sys.path = []', 'nested = [[[[[[1]]]]]]', '1 / 0'),
      });

      expect(resultOf(run).exceptions).toMatchObject([
        { type: 'ZeroDivisionError', frames: [{ line: 4, source: '1 / 0' }] },
      ]);
      expect(run.stderr).toContain('ZeroDivisionError: division by zero');
      expect(variablesOf(run).nested).toMatchObject({ truncated: true });
    });
  });

  describe('preloading modules while waiting for the job (SANDBOX_PRELOAD)', () => {
    const probe = py(
      'import os, sys',
      "print(sorted(m for m in ('decimal', 'fractions', 'no_such_module') if m in sys.modules))",
      "print(os.environ.get('SANDBOX_PRELOAD'))",
      'x = 1',
    );

    it('has the named modules imported before the code runs, and shows nothing else of it', async () => {
      // The job comes once the waiting worker is ready, as in a warm container.
      const run = await runHarness(
        { code: probe },
        { SANDBOX_PRELOAD: 'decimal,fractions,no_such_module,not a name,,os.path' },
        1_000,
      );
      expect(run.stdout).toBe("['decimal', 'fractions']\nNone\n");
      expect(Object.keys(variablesOf(run))).toEqual(['x']);
      expect(exitOf(run).exit_code).toBe(0);
      // The time it took to be ready, well before the job came a second in.
      expect(exitOf(run).preload?.ready).toBe(true);
      expect(exitOf(run).preload?.ms).toBeLessThan(1_000);
    });

    it('imports nothing without it', async () => {
      const run = await runHarness({ code: probe });
      expect(run.stdout).toBe('[]\nNone\n');
    });

    it("keeps the frames and the job's output clean when a preloaded module prints as it is imported", async () => {
      // The job comes once the waiting worker has imported it, and runs there.
      const run = await runHarness({ code: 'print("job")' }, { SANDBOX_PRELOAD: 'this' }, 1_000);
      expect(exitOf(run).preload?.ready).toBe(true);
      expect(run.stdout).toBe('job\n');
      expect(run.stderr).toBe('');
    });
  });

  describe('exceptions', () => {
    it('reports the line of an exception in the user code, with its frames and their source', async () => {
      const run = await runHarness({
        code: py('def divide(a, b):', '    return a / b', '', 'divide(1, 0)'),
      });

      expect(exitOf(run).exit_code).toBe(1);
      expect(onlyExceptionOf(run)).toEqual({
        type: 'ZeroDivisionError',
        message: 'division by zero',
        line: 2,
        frames: [
          { file: 'main.py', line: 4, function: '<module>', source: 'divide(1, 0)' },
          { file: 'main.py', line: 2, function: 'divide', source: 'return a / b' },
        ],
        frames_omitted: 0,
        cause: null,
        cause_relation: null,
      });
    });

    it('prints the usual traceback on stderr, without the harness in it', async () => {
      const run = await runHarness({ code: py('print("before")', 'int("x")') });

      expect(run.stdout).toBe('before\n');
      expect(run.stderr).toMatch(
        /^Traceback \(most recent call last\):\n {2}File "main.py", line 2, in <module>\n/,
      );
      expect(run.stderr).toMatch(/\nValueError: invalid literal for int\(\) with base 10: 'x'\n$/);
      expect(run.stderr).not.toContain('<string>');
    });

    it('names library exceptions with their module and points at the user line that called the library', async () => {
      const run = await runHarness({ code: py('import json', '', 'json.loads("{")') });

      const exception = onlyExceptionOf(run);
      expect(exception.type).toBe('json.decoder.JSONDecodeError');
      expect(exception.line).toBe(3);
      expect(exception.frames[0]).toEqual({
        file: 'main.py',
        line: 3,
        function: '<module>',
        source: 'json.loads("{")',
      });
      expect(exception.frames.length).toBeGreaterThan(1);
      expect(exception.frames.map((frame) => frame.file)).not.toContain('<string>');
    });

    it('reports the cause of an exception raised "from" another', async () => {
      const run = await runHarness({
        code: py(
          'def parse(text):',
          '    return int(text)',
          '',
          'try:',
          '    parse("abc")',
          'except ValueError as error:',
          '    raise RuntimeError("bad config") from error',
        ),
      });

      const exception = onlyExceptionOf(run);
      expect(exception).toMatchObject({
        type: 'RuntimeError',
        message: 'bad config',
        line: 7,
        cause_relation: 'cause',
      });
      expect(exception.cause).toMatchObject({
        type: 'ValueError',
        message: "invalid literal for int() with base 10: 'abc'",
        line: 2,
        cause: null,
      });
    });

    it('reports the exception being handled when another one was raised', async () => {
      const run = await runHarness({
        code: py(
          'settings = {}',
          'try:',
          '    settings["port"]',
          'except KeyError:',
          '    print(undefined_name)',
        ),
      });

      const exception = onlyExceptionOf(run);
      expect(exception).toMatchObject({ type: 'NameError', line: 5, cause_relation: 'context' });
      expect(exception.cause).toMatchObject({ type: 'KeyError', message: "'port'", line: 3 });
    });

    it('leaves out a context suppressed with "from None"', async () => {
      const run = await runHarness({
        code: py(
          'try:',
          '    {}["port"]',
          'except KeyError:',
          '    raise LookupError("no port") from None',
        ),
      });

      expect(onlyExceptionOf(run)).toMatchObject({
        type: 'LookupError',
        cause: null,
        cause_relation: null,
      });
    });

    it('follows a chain of causes at most five deep', async () => {
      const run = await runHarness({
        code: py(
          'error = None',
          'for n in range(10):',
          '    try:',
          '        raise ValueError(n) from error',
          '    except ValueError as caught:',
          '        error = caught',
          'raise error',
        ),
      });

      expect(chainOf(onlyExceptionOf(run))).toEqual([
        'ValueError: 9',
        'ValueError: 8',
        'ValueError: 7',
        'ValueError: 6',
        'ValueError: 5',
        'ValueError: 4',
      ]);
    });

    it('stops at a cycle in the chain', async () => {
      const run = await runHarness({
        code: py(
          'first, second = KeyError("first"), KeyError("second")',
          'first.__context__, second.__context__ = second, first',
          'raise first',
        ),
      });

      expect(chainOf(onlyExceptionOf(run))).toEqual(["KeyError: 'first'", "KeyError: 'second'"]);
    });

    it('reports the line of a syntax error, with the offending source', async () => {
      const run = await runHarness({ code: py('x = 1', 'if x == 1', '    print(x)') });

      expect(exitOf(run).exit_code).toBe(1);
      expect(onlyExceptionOf(run)).toMatchObject({
        type: 'SyntaxError',
        line: 2,
        frames: [{ file: 'main.py', line: 2, function: '<module>', source: 'if x == 1' }],
      });
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('SyntaxError');
    });
  });

  describe('exit status', () => {
    it('reports the code given to sys.exit, and no exception', async () => {
      const run = await runHarness({ code: py('import sys', 'sys.exit(3)') });

      expect(exitOf(run)).toMatchObject({ exit_code: 3, signal: null });
      expect(resultOf(run).exceptions).toEqual([]);
      expect(run.stderr).toBe('');
    });

    it('prints a message given to sys.exit and exits 1, as Python does', async () => {
      const run = await runHarness({ code: py('import sys', 'sys.exit("giving up")') });

      expect(exitOf(run).exit_code).toBe(1);
      expect(run.stderr).toBe('giving up\n');
      expect(resultOf(run).exceptions).toEqual([]);
    });

    it('reports the code of os._exit, with no result since the worker could not send one', async () => {
      const run = await runHarness({
        code: py('import os', 'print("last words", flush=True)', 'os._exit(4)'),
      });

      expect(run.stdout).toBe('last words\n');
      expect(exitOf(run)).toMatchObject({ exit_code: 4, result: null });
    });

    it(
      'kills code that runs past time_limit_s and says so',
      async () => {
        const run = await runHarness({
          code: py('print("spinning", flush=True)', 'while True:', '    pass'),
          time_limit_s: 1,
        });

        expect(run.stdout).toBe('spinning\n');
        expect(exitOf(run)).toMatchObject({
          harness_timeout: true,
          signal: 9,
          exit_code: null,
          result: null,
        });
        expect(run.elapsedMs).toBeLessThan(5_000);
      },
      SLOW,
    );
  });

  describe('variables_after, in debug mode', () => {
    it('keeps JSON-safe values as they are', async () => {
      const run = await runHarness({
        code: py(
          'count = 42',
          'edge = 2 ** 53',
          'ratio = 0.5',
          'name = "Ada"',
          'flag = True',
          'nothing = None',
          'items = [1, "two", 3.5]',
          'pair = (1, 2)',
          'colours = {"red"}',
          'point = {"x": 1, "y": [2, 3]}',
        ),
        input_data: { n: 1 },
      });

      expect(variablesOf(run)).toEqual({
        count: { type: 'int', value: 42, truncated: false },
        edge: { type: 'int', value: 2 ** 53, truncated: false },
        ratio: { type: 'float', value: 0.5, truncated: false },
        name: { type: 'str', value: 'Ada', truncated: false },
        flag: { type: 'bool', value: true, truncated: false },
        nothing: { type: 'NoneType', value: null, truncated: false },
        items: { type: 'list', value: [1, 'two', 3.5], truncated: false },
        pair: { type: 'tuple', value: [1, 2], truncated: false },
        colours: { type: 'set', value: ['red'], truncated: false },
        point: { type: 'dict', value: { x: 1, y: [2, 3] }, truncated: false },
      });
    });

    it('shows numbers JSON cannot carry faithfully by their repr', async () => {
      const run = await runHarness({
        code: py(
          'big = 2 ** 64',
          'not_a_number = float("nan")',
          'infinite = float("-inf")',
          'nested = [float("nan")]',
        ),
      });

      expect(variablesOf(run)).toMatchObject({
        big: { type: 'int', repr: '18446744073709551616', truncated: false },
        not_a_number: { type: 'float', repr: 'nan', truncated: false },
        infinite: { type: 'float', repr: '-inf', truncated: false },
        nested: { type: 'list', value: ['nan'], truncated: false },
      });
    });

    it('cuts long strings to 10,000 characters', async () => {
      const run = await runHarness({ code: 'text = "x" * 20_000' });

      expect(variablesOf(run).text).toEqual({
        type: 'str',
        value: 'x'.repeat(10_000),
        truncated: true,
      });
    });

    it('bounds containers to 100 items and 4 levels, showing deeper ones by their repr', async () => {
      const run = await runHarness({
        code: py(
          'long_list = list(range(250))',
          'four_deep = [[[[1]]]]',
          'five_deep = [[[[[1]]]]]',
        ),
      });

      const variables = variablesOf(run);
      expect(variables.long_list).toEqual({
        type: 'list',
        value: [...Array(100).keys()],
        truncated: true,
      });
      expect(variables.four_deep).toEqual({ type: 'list', value: [[[[1]]]], truncated: false });
      expect(variables.five_deep).toEqual({ type: 'list', value: [[[['[1]']]]], truncated: true });
    });

    it('keeps a variable small even when it is huge through shared references', async () => {
      const run = await runHarness({ code: 'cube = [[[[[0] * 100] * 100] * 100] * 100] * 100' });

      const cube = variablesOf(run).cube;
      expect(cube).toMatchObject({ type: 'list', truncated: true });
      expect(JSON.stringify(cube).length).toBeLessThan(100_000);
    });

    it('turns dict keys that are not strings into their repr', async () => {
      const run = await runHarness({ code: 'squares = {1: 1, 2: 4, (3, 4): "pair"}' });

      expect(variablesOf(run).squares).toEqual({
        type: 'dict',
        value: { '1': 1, '2': 4, '(3, 4)': 'pair' },
        truncated: false,
      });
    });

    it('leaves out input_data while it is still the object it was given', async () => {
      const kept = await runHarness({ code: 'x = input_data["n"]', input_data: { n: 1 } });
      expect(Object.keys(variablesOf(kept))).toEqual(['x']);

      const rebound = await runHarness({ code: 'input_data = [1]', input_data: { n: 1 } });
      expect(variablesOf(rebound).input_data).toEqual({
        type: 'list',
        value: [1],
        truncated: false,
      });
    });

    it('leaves out modules and dunder names', async () => {
      const run = await runHarness({
        code: py('import os', 'import json as j', '__secret__ = 1', '_private = 2'),
      });

      expect(Object.keys(variablesOf(run))).toEqual(['_private']);
    });

    it('shows other objects by their repr, cut to 1,000 characters', async () => {
      const run = await runHarness({
        code: py(
          'from collections import OrderedDict',
          'class Chatty:',
          '    def __repr__(self):',
          '        return "y" * 5000',
          'chatty = Chatty()',
          'ordered = OrderedDict(a=1)',
        ),
      });

      const variables = variablesOf(run);
      expect(variables.chatty).toEqual({ type: 'Chatty', repr: 'y'.repeat(1000), truncated: true });
      expect(variables.ordered).toEqual({
        type: 'OrderedDict',
        repr: "OrderedDict([('a', 1)])",
        truncated: false,
      });
      expect(variables.Chatty).toEqual({
        type: 'type',
        repr: "<class '__main__.Chatty'>",
        truncated: false,
      });
    });

    it('survives an object whose __repr__ raises', async () => {
      const run = await runHarness({
        code: py(
          'class Broken:',
          '    def __repr__(self):',
          '        raise RuntimeError("no repr for you")',
          'broken = Broken()',
          'in_a_list = [Broken()]',
        ),
      });

      expect(variablesOf(run)).toMatchObject({
        broken: {
          type: 'Broken',
          repr: '<unrepresentable Broken: RuntimeError>',
          truncated: false,
        },
        in_a_list: {
          type: 'list',
          value: ['<unrepresentable Broken: RuntimeError>'],
          truncated: false,
        },
      });
    });

    it(
      'gives up on a __repr__ that never returns, even one catching Exception, and still sends the result',
      async () => {
        const run = await runHarness({
          code: py(
            'class Stuck:',
            '    def __repr__(self):',
            '        try:',
            '            while True:',
            '                pass',
            '        except Exception:',
            '            return "escaped"',
            'stuck = Stuck()',
            'after = "still here"',
          ),
        });

        expect(variablesOf(run)).toMatchObject({
          stuck: { type: 'Stuck', repr: '<repr timed out>' },
          after: { type: 'str', value: 'still here' },
        });
        expect(run.elapsedMs).toBeLessThan(5_000);
      },
      SLOW,
    );

    it('encodes small numpy-style arrays from tolist(), and larger ones by their repr', async () => {
      const run = await runHarness({
        code: py(
          'class FakeArray:',
          '    def __init__(self, values):',
          '        self.values = values',
          '        self.size = len(values)',
          '    def tolist(self):',
          '        return list(self.values)',
          '    def __repr__(self):',
          '        return f"FakeArray(size={self.size})"',
          'small = FakeArray([1.5, 2.5, 3.5])',
          'large = FakeArray(range(5000))',
        ),
      });

      expect(variablesOf(run)).toMatchObject({
        small: { type: 'FakeArray', value: [1.5, 2.5, 3.5], truncated: false },
        large: { type: 'FakeArray', repr: 'FakeArray(size=5000)', truncated: false },
      });
    });

    it('reports at most 200 variables and counts the others', async () => {
      const run = await runHarness({
        code: py('for i in range(300):', '    globals()[f"v{i}"] = i'),
      });

      const names = Object.keys(variablesOf(run));
      expect(names).toHaveLength(200);
      expect(names.slice(0, 3)).toEqual(['i', 'v0', 'v1']);
      expect(resultOf(run).variables_omitted).toBe(101);
    });

    it('cuts variable names to 200 characters and leaves out one whose cut name is taken', async () => {
      const run = await runHarness({
        code: py('globals()["n" * 300] = 1', 'globals()["n" * 301] = 2'),
      });

      expect(variablesOf(run)).toEqual({
        ['n'.repeat(200)]: { type: 'int', value: 1, truncated: false },
      });
      expect(resultOf(run).variables_omitted).toBe(1);
    });

    it('keeps the first of two dict keys that read the same, and says the value was cut', async () => {
      const run = await runHarness({ code: 'mixed = {1: "int", "1": "str"}' });

      expect(variablesOf(run).mixed).toEqual({
        type: 'dict',
        value: { '1': 'int' },
        truncated: true,
      });
    });

    it('leaves variables_after null outside debug mode, but still reports exceptions', async () => {
      const run = await runHarness({
        code: py('x = 1', 'raise ValueError("boom")'),
        debug_mode: false,
      });

      const result = resultOf(run);
      expect(result.variables_after).toBeNull();
      expect(result.exceptions).toMatchObject([{ type: 'ValueError', message: 'boom', line: 2 }]);
    });
  });

  describe('the exit frame bound', () => {
    it('is the constant the harness uses', () => {
      const bound = /^MAX_EXIT_FRAME_BYTES = ([\d_]+)/m.exec(HARNESS_SOURCE.toString('utf8'))?.[1];

      expect(Number(bound?.replaceAll('_', ''))).toBe(MAX_EXIT_FRAME_BYTES);
    });

    it('holds for a dict of 8 keys of 1 MB, cut to 200 characters, with the result delivered', async () => {
      const run = await runHarness({
        code: py('d = {("k" * 1_000_000) + str(i): i for i in range(8)}', 'print("done")'),
      });

      expect(run.stdout).toBe('done\n');
      expect(exitOf(run)).toMatchObject({ exit_code: 0, result_error: null });
      // Every key reads the same once cut: the first stays, the value says it was cut.
      expect(variablesOf(run).d).toEqual({
        type: 'dict',
        value: { ['k'.repeat(200)]: 0 },
        truncated: true,
      });
      expect(run.lastLineBytes).toBeLessThanOrEqual(MAX_EXIT_FRAME_BYTES);
    });

    it('holds for a 6 MB exception message, cut to 10,000 characters', async () => {
      const run = await runHarness({
        code: py('print("before")', 'raise ValueError("m" * 6_000_000)'),
      });

      expect(run.stdout).toBe('before\n');
      expect(exitOf(run)).toMatchObject({ exit_code: 1, result_error: null });
      expect(onlyExceptionOf(run)).toMatchObject({
        type: 'ValueError',
        message: 'm'.repeat(10_000),
        line: 2,
      });
      expect(run.lastLineBytes).toBeLessThanOrEqual(MAX_EXIT_FRAME_BYTES);
    });

    it('cuts exception type names and the text of traceback frames to 200 characters', async () => {
      const run = await runHarness({
        code: py(
          'Huge = type("E" * 1000, (Exception,), {})',
          `raise Huge("x")  # ${'c'.repeat(1000)}`,
        ),
      });

      const exception = onlyExceptionOf(run);
      expect(exception.type).toBe('E'.repeat(200));
      expect(exception.frames[0].source).toBe(`raise Huge("x")  # ${'c'.repeat(181)}`);
    });

    it('keeps the outermost 10 and innermost 40 frames of a deep traceback and counts the others', async () => {
      const run = await runHarness({
        code: py('def recurse(n):', '    return recurse(n + 1)', '', 'recurse(0)'),
      });

      const exception = onlyExceptionOf(run);
      expect(exception).toMatchObject({ type: 'RecursionError', line: 2 });
      expect(exception.frames).toHaveLength(50);
      expect(exception.frames[0]).toEqual({
        file: 'main.py',
        line: 4,
        function: '<module>',
        source: 'recurse(0)',
      });
      expect(exception.frames[49]).toMatchObject({ line: 2, function: 'recurse' });
      expect(exception.frames_omitted).toBeGreaterThan(900);
      expect(run.lastLineBytes).toBeLessThanOrEqual(MAX_EXIT_FRAME_BYTES);
    });

    it('holds for 100,000 globals: 200 are reported, the others counted', async () => {
      const run = await runHarness({
        code: py('for i in range(100_000):', '    globals()[f"v{i}"] = i'),
      });

      expect(Object.keys(variablesOf(run))).toHaveLength(200);
      expect(resultOf(run).variables_omitted).toBe(100_001 - 200);
    });

    it('leaves out the variables that do not fit in the frame, and counts them', async () => {
      // 60 KB each in the frame, where \x01 takes 6 bytes: \u0001.
      const run = await runHarness({
        code: py('for i in range(100):', '    globals()[f"v{i}"] = "\\x01" * 10_000'),
      });

      const kept = Object.keys(variablesOf(run)).length;
      expect(kept).toBeGreaterThan(20);
      expect(kept).toBeLessThan(40);
      expect(resultOf(run).variables_omitted).toBe(101 - kept);
      expect(exitOf(run).result_error).toBeNull();
      expect(run.lastLineBytes).toBeLessThanOrEqual(MAX_EXIT_FRAME_BYTES);
      expect(run.lastLineBytes).toBeGreaterThan(MAX_EXIT_FRAME_BYTES - 100_000);
    });

    it('holds with the variables filling the frame and omitted output files of long names', async () => {
      const budget = { max_count: 0, max_bytes: 0 };
      const run = await runHarness({
        code: py(
          'import os',
          'for i in range(100):',
          '    globals()[f"v{i}"] = "\\x01" * 10_000',
          // Names of control characters: 6 bytes each in the frame.
          'deep = "out/" + "/".join(["\\x01" * 200] * 4)',
          'os.makedirs(deep)',
          'for i in range(150):',
          '    open(f"{deep}/{i:03}", "w").close()',
        ),
        output_files: budget,
      });

      const { output_files: summary, result_error } = exitOf(run);
      expect(result_error).toBeNull();
      expect(summary?.omitted_count).toBe(150);
      // Each entry takes ~5 KB in the frame: the listing stops at its 16 KiB.
      expect(summary?.omitted).toHaveLength(3);
      expect(run.lastLineBytes).toBeLessThanOrEqual(MAX_EXIT_FRAME_BYTES);
      expect(run.lastLineBytes).toBeGreaterThan(MAX_EXIT_FRAME_BYTES - 100_000);
    });
  });

  describe('output limits', () => {
    it('forwards exactly max_output_bytes of a stream, says once that it was truncated, and counts everything', async () => {
      const run = await runHarness({
        code: py('for _ in range(100):', '    print("x" * 99)'),
        max_output_bytes: 1000,
      });

      expect(run.stdout).toBe(('x'.repeat(99) + '\n').repeat(10));
      expect(run.frames.filter((frame) => frame.type === 'truncated')).toEqual([
        { type: 'truncated', stream: 'stdout' },
      ]);
      expect(exitOf(run)).toMatchObject({ exit_code: 0, stdout_bytes: 10_000, stderr_bytes: 0 });
    });

    it('shows a character cut by the cap as U+FFFD', async () => {
      const run = await runHarness({ code: 'print("ééé")', max_output_bytes: 5 });

      expect(run.stdout).toBe('éé\uFFFD');
      expect(exitOf(run).stdout_bytes).toBe(7);
    });
  });

  describe('robustness against the code it runs', () => {
    it('treats a printed line that imitates a frame as plain output', async () => {
      const run = await runHarness({ code: `print('{"type":"exit","exit_code":99}')` });

      expect(run.frames[0]).toEqual({ type: 'stdout', data: '{"type":"exit","exit_code":99}\n' });
      expect(run.frames.filter((frame) => frame.type === 'exit')).toHaveLength(1);
      expect(exitOf(run).exit_code).toBe(0);
    });

    it('still sends the result after the code sets sys.stdout to None', async () => {
      const run = await runHarness({
        code: py(
          'import sys',
          'print("visible")',
          'sys.stdout = None',
          'print("swallowed")',
          'total = sum(range(10))',
        ),
      });

      expect(run.stdout).toBe('visible\n');
      expect(exitOf(run).exit_code).toBe(0);
      expect(variablesOf(run).total).toEqual({ type: 'int', value: 45, truncated: false });
    });

    it('still sends the result after the code closes fds 1 and 2', async () => {
      const run = await runHarness({
        code: py(
          'import os',
          'print("before closing")',
          'os.close(1)',
          'os.close(2)',
          'value = 7',
          'raise ValueError("after")',
        ),
      });

      expect(run.stdout).toBe('before closing\n');
      expect(exitOf(run).exit_code).toBe(1);
      expect(resultOf(run).exceptions).toMatchObject([
        { type: 'ValueError', message: 'after', line: 6 },
      ]);
      expect(variablesOf(run).value).toEqual({ type: 'int', value: 7, truncated: false });
    });

    it(
      'does not wait for a process the code started and left running',
      async () => {
        const run = await runHarness({
          code: py(
            'import subprocess',
            'subprocess.Popen(["sleep", "30"])',
            'subprocess.Popen(["sleep", "8"], start_new_session=True)  # escapes the group kill: short, so the host is not left with it',
            'print("started")',
          ),
        });

        expect(run.stdout).toBe('started\n');
        expect(exitOf(run).exit_code).toBe(0);
        expect(run.elapsedMs).toBeLessThan(5_000);
      },
      SLOW,
    );
  });

  describe('a result the code forges', () => {
    it.each([
      [
        'with exceptions that are not a list',
        '{"duration_ms":1,"exceptions":"x","variables_after":[]}',
        'exceptions is not a list',
      ],
      [
        'with variables that are a list',
        '{"duration_ms":1,"exceptions":[],"variables_after":[],"variables_omitted":0}',
        'variables_after is not null or an object',
      ],
      [
        'with a field the protocol does not have',
        '{"duration_ms":1,"exceptions":[],"variables_after":null,"variables_omitted":0,"x":1}',
        'the result is not free of fields other than duration_ms, exceptions, figures, figures_omitted, profile, variables_after, variables_omitted',
      ],
      [
        'with an infinite duration',
        '{"duration_ms":1e400,"exceptions":[],"variables_after":null,"variables_omitted":0}',
        'duration_ms is not a finite number',
      ],
      [
        'with a variable both valued and repr-ed',
        '{"duration_ms":1,"exceptions":[],"variables_omitted":0,"variables_after":{"x":{"type":"int","value":1,"repr":"1","truncated":false}}}',
        'a variable in variables_after is not an object with one of value and repr',
      ],
      ['that is not JSON', '{"duration_ms":', 'the result is not JSON'],
      ['without figures', forged({ figures: undefined }), 'figures is not null or a list'],
      [
        'with figure indexes that do not rise',
        forged({ figures: [figure(1), figure(1)] }),
        'figures[1].index is not a count above the previous one',
      ],
      [
        'with a figure title that is not a string',
        forged({ figures: [{ ...figure(0), title: 7 }] }),
        'figures[0].title is not a string or null',
      ],
      [
        'with more figures than any job may have',
        forged({ figures: Array.from({ length: 51 }, (_, index) => figure(index)) }),
        'figures is not a list of at most 50 figures',
      ],
      [
        'with a profile without its error',
        forged({ profile: { ...PROFILE, error: undefined } }),
        'profile.error is not a string or null',
      ],
      [
        'with a profiled function of negative time',
        forged({
          profile: {
            ...PROFILE,
            functions: [
              {
                function: 'f',
                file: 'main.py',
                line: 1,
                calls: 1,
                self_ms: -1,
                cumulative_ms: 1,
                user_code: true,
              },
            ],
          },
        }),
        'profile.functions[].self_ms is not a finite number, not negative',
      ],
      [
        'with a preview of an unknown kind',
        forged({ variables_after: { x: { ...VARIABLE, preview: { kind: 'table' } } } }),
        'a variable in variables_after: its preview is not a preview of a known kind',
      ],
      [
        'with a preview cell that is infinite',
        forged({
          variables_after: {
            x: {
              ...VARIABLE,
              preview: {
                kind: 'dataframe',
                shape: [1, 1],
                columns: [{ name: 'a', dtype: 'float64', nulls: null }],
                columns_omitted: 0,
                index: [0],
                rows: [[1.5e300]],
                rows_omitted: 0,
              },
            },
          },
        }).replace('1.5e+300', '1e400'),
        'a variable in variables_after: its preview.rows[] is not a list of strings, finite numbers, booleans and nulls',
      ],
    ])('%s is dropped, saying why', async (_case, forged, problem) => {
      const run = await runHarness({ code: forgeResult(`${JSON.stringify(forged)}.encode()`) });

      expect(exitOf(run)).toMatchObject({ exit_code: 0, result: null, result_error: problem });
    });

    it('has its exception cause chain checked too, naming where it went wrong', async () => {
      const run = await runHarness({
        code: forgeResult(
          py(
            'json.dumps({"duration_ms": 1, "variables_after": None, "variables_omitted": 0, "exceptions": [',
            '    {"type": "E", "message": "", "line": None, "frames": [], "frames_omitted": 0,',
            '     "cause_relation": "cause", "cause": {"type": "E", "message": "", "line": None,',
            '     "frames": [{"file": 1}], "frames_omitted": 0, "cause": None, "cause_relation": None}}]}).encode()',
          ),
        ),
      });

      expect(exitOf(run).result_error).toBe('exceptions[0].cause.frames[0].file is not a string');
    });

    it('is cut to the bounds when it is well formed but oversized', async () => {
      const run = await runHarness({
        code: forgeResult(
          py(
            'json.dumps({"duration_ms": 1, "variables_omitted": 0, "figures_omitted": 0, "profile": None,',
            '  "figures": [{"index": 0, "title": "t" * 1000, "error": "e" * 1000}], "exceptions": [',
            '    {"type": "E" * 1000, "message": "m" * 1_000_000, "line": None, "frames_omitted": 0,',
            '     "frames": [{"file": "f", "line": 1, "function": "g", "source": None}] * 5000,',
            '     "cause": None, "cause_relation": None}],',
            '  "variables_after": {"x" * 1000: {"type": "t", "repr": "r" * 5000, "truncated": False}}}).encode()',
          ),
        ),
      });

      expect(exitOf(run).result_error).toBeNull();
      const exception = onlyExceptionOf(run);
      expect(exception.type).toBe('E'.repeat(200));
      expect(exception.message).toBe('m'.repeat(10_000));
      expect(exception.frames).toHaveLength(50);
      expect(exception.frames_omitted).toBe(4950);
      expect(variablesOf(run)).toEqual({
        ['x'.repeat(200)]: { type: 't', repr: 'r'.repeat(1000), truncated: true },
      });
      expect(resultOf(run).figures).toEqual([
        { index: 0, title: 't'.repeat(200), error: 'e'.repeat(500) },
      ]);
    });

    it(
      'is dropped past its size cap, read to the end without being kept',
      async () => {
        const run = await runHarness({
          code: forgeResult(
            'b"x" * 50_000_000',
            // The supervisor's peak memory: it would hold all 50 MB if it kept them.
            'status = open(f"/proc/{os.getppid()}/status").read()',
            'print(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])',
          ),
        });

        expect(exitOf(run)).toMatchObject({
          exit_code: 0,
          result: null,
          result_error: 'the result is longer than 2076672 bytes',
        });
        expect(Number(run.stdout)).toBeLessThan(40_000);
      },
      SLOW,
    );
  });

  describe('signals', () => {
    it('ends with a normal exit frame when the code sends SIGINT to the supervisor', async () => {
      const run = await runHarness({
        code: py(
          'import os, signal, time',
          'os.kill(os.getppid(), signal.SIGINT)',
          'time.sleep(0.2)  # for the supervisor to have it',
          'print("still here")',
        ),
      });

      expect(run.stdout).toBe('still here\n');
      expect(exitOf(run)).toMatchObject({ exit_code: 0, result_error: null });
    });

    it('gives the code the SIGINT handling of `python main.py`', async () => {
      const run = await runHarness({
        code: py(
          'import os, signal, time',
          'print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)',
          'os.kill(os.getpid(), signal.SIGINT)',
          'time.sleep(5)',
        ),
      });

      expect(run.stdout).toBe('True\n');
      expect(onlyExceptionOf(run).type).toBe('KeyboardInterrupt');
    });
  });

  describe('bad payloads', () => {
    it.each([
      ['is not JSON', 'this is not json'],
      ['is not an object', '[1, 2]'],
      ['lacks the code', JSON.stringify({ ...DEFAULT_PAYLOAD })],
      ['has a code that is not a string', JSON.stringify({ ...DEFAULT_PAYLOAD, code: 42 })],
      [
        'has a non-positive time limit',
        JSON.stringify({ ...DEFAULT_PAYLOAD, code: 'pass', time_limit_s: 0 }),
      ],
      [
        'has a stdin that is not a string',
        JSON.stringify({ ...DEFAULT_PAYLOAD, code: 'pass', stdin: ['a'] }),
      ],
      [
        'has files that are not a list of paths and sizes',
        JSON.stringify({ ...DEFAULT_PAYLOAD, code: 'pass', files: [{ path: 'a', size: -1 }] }),
      ],
      [
        'has an output_files without max_bytes',
        JSON.stringify({ ...DEFAULT_PAYLOAD, code: 'pass', output_files: { max_count: 1 } }),
      ],
      ['has no length line', Buffer.from(JSON.stringify({ ...DEFAULT_PAYLOAD, code: 'pass' }))],
      ['is shorter than its length line', Buffer.from('500\n{"code": "pass"}')],
    ])('answers a payload that %s with a harness_error frame only', async (_case, payload) => {
      const run = await runHarness(payload);

      expect(run.frames).toHaveLength(1);
      expect(harnessErrorOf(run)).toMatch(/^bad payload: /);
    });
  });
});

type BatchItemPayload = Partial<HarnessPayload> & Pick<HarnessPayload, 'code'>;
type ItemExitMessage = Extract<BatchMessage, { type: 'item_exit' }>;

/** What a batch run printed, frame by frame and item by item. */
interface BatchRun {
  readonly frames: BatchMessage[];
}

/**
 * Runs the harness with a batch of `items` (fields not given take DEFAULT_PAYLOAD's
 * values), each item's input files (path, bytes) sent after the payload, item after item.
 */
function runBatchHarness(
  items: readonly BatchItemPayload[],
  parallelism: number,
  files: readonly (readonly (readonly [string, string])[])[] = [],
  env: Record<string, string> = {},
): Promise<BatchRun> {
  const payload = {
    batch: { parallelism },
    items: items.map((item, index) => ({
      ...DEFAULT_PAYLOAD,
      ...item,
      files: (files[index] ?? []).map(([path, data]) => ({ path, size: Buffer.byteLength(data) })),
    })),
  };
  const contents = files.flatMap((itemFiles) => itemFiles.map(([, data]) => Buffer.from(data)));
  return spawnHarness(
    Buffer.concat([encodePayload(JSON.stringify(payload)), ...contents]),
    env,
    0,
    (output) => {
      const decoder = new BatchFrameDecoder(MAX_FRAME_BYTES);
      return { run: { frames: decoder.push(output) }, rejections: decoder.rejectionReasons };
    },
  );
}

/** The item_exit frame of item `index`: there must be exactly one. */
function itemExitOf(run: BatchRun, index: number): ItemExitMessage {
  const exits = run.frames.filter(
    (frame): frame is ItemExitMessage => frame.type === 'item_exit' && frame.item === index,
  );
  expect(exits).toHaveLength(1);
  return exits[0];
}

function itemOutputOf(run: BatchRun, index: number, stream: OutputStream = 'stdout'): string {
  return run.frames
    .map((frame) => (frame.type === stream && frame.item === index ? frame.data : ''))
    .join('');
}

describe('sandbox harness batches', () => {
  it(
    'runs each item in its own worker and directory: one fails, one times out, one prints',
    async () => {
      const run = await runBatchHarness(
        [
          {
            code: py(
              'import decimal, os',
              'leaked = "from item 0"',
              'open("left.txt", "w").write("item 0 was here")',
              'print(os.getcwd(), flush=True)',
              'raise ValueError("item 0 fails")',
            ),
          },
          {
            code: py(
              'import os, sys, time',
              "print(os.listdir('.'), 'leaked' in globals(), 'decimal' in sys.modules)",
              'print(os.getcwd(), flush=True)',
              'time.sleep(30)',
            ),
            time_limit_s: 1,
          },
          { code: 'print(input_data)', input_data: { n: 3 } },
        ],
        1,
      );

      expect(
        run.frames.map((frame) => frame.type).filter((type) => type.startsWith('item_')),
      ).toEqual(['item_start', 'item_exit', 'item_start', 'item_exit', 'item_start', 'item_exit']);
      expect(run.frames.at(-1)).toEqual({ type: 'batch_exit', items: 3 });
      expect(itemExitOf(run, 0)).toMatchObject({
        exit_code: 1,
        harness_timeout: false,
        result: { exceptions: [{ type: 'ValueError', message: 'item 0 fails', line: 5 }] },
      });
      expect(itemOutputOf(run, 0, 'stderr')).toContain('ValueError: item 0 fails');
      expect(itemExitOf(run, 1)).toMatchObject({
        exit_code: null,
        signal: 9,
        harness_timeout: true,
        result: null,
      });
      expect(itemExitOf(run, 2)).toMatchObject({
        exit_code: 0,
        signal: null,
        result: { exceptions: [] },
      });
      // Fresh directory, fresh globals, fresh modules: nothing of item 0 in item 1.
      const [firstCwd] = itemOutputOf(run, 0).split('\n');
      const [seen, secondCwd] = itemOutputOf(run, 1).split('\n');
      expect(seen).toBe("['main.py'] False False");
      expect(secondCwd).not.toBe(firstCwd);
      expect(itemOutputOf(run, 2)).toBe("{'n': 3}\n");
    },
    SLOW,
  );

  it(
    'runs `parallelism` items at once: two that wait for each other both finish',
    async () => {
      const meeting = mkdtempSync(join(tmpdir(), 'harness-meeting-'));
      try {
        // Each leaves its mark and waits for the other's: only items run at once both finish.
        const code = py(
          'import os, time',
          'me, other = input_data["me"], input_data["other"]',
          'open(os.path.join(input_data["dir"], me), "w").close()',
          'while not os.path.exists(os.path.join(input_data["dir"], other)):',
          '    time.sleep(0.01)',
          'print("met", other)',
        );
        const run = await runBatchHarness(
          [
            { code, input_data: { dir: meeting, me: 'a', other: 'b' }, time_limit_s: 5 },
            { code, input_data: { dir: meeting, me: 'b', other: 'a' }, time_limit_s: 5 },
          ],
          2,
        );

        expect(itemExitOf(run, 0)).toMatchObject({ exit_code: 0, harness_timeout: false });
        expect(itemExitOf(run, 1)).toMatchObject({ exit_code: 0, harness_timeout: false });
        expect(itemOutputOf(run, 0)).toBe('met b\n');
        expect(itemOutputOf(run, 1)).toBe('met a\n');
      } finally {
        rmSync(meeting, { recursive: true, force: true });
      }
    },
    SLOW,
  );

  it('gives each item its own input files and sends back its own output files', async () => {
    const code = py(
      'import os',
      'os.makedirs("out")',
      'open("out/seen.txt", "w").write(" ".join(sorted(os.listdir("."))))',
      'open("out/echo.txt", "w").write(open(input_data).read().upper())',
    );
    const request = { max_count: 5, max_bytes: 1024 };
    const run = await runBatchHarness(
      [
        { code, input_data: 'a.txt', output_files: request },
        { code, input_data: 'data/b.txt', output_files: request },
      ],
      2,
      [[['a.txt', 'first']], [['data/b.txt', 'second']]],
    );

    const filesOf = (index: number) => {
      const assembler = new OutputFileAssembler(request);
      for (const frame of run.frames) {
        if (frame.type === 'file' && frame.item === index)
          assembler.fileStarts(frame.path, frame.size);
        if (frame.type === 'file_data' && frame.item === index) assembler.fileData(frame.data);
      }
      assembler.end();
      return assembler.outputFiles(itemExitOf(run, index).output_files)?.files;
    };
    expect(filesOf(0)).toEqual([
      { path: 'echo.txt', data: Buffer.from('FIRST') },
      { path: 'seen.txt', data: Buffer.from('a.txt main.py out') },
    ]);
    expect(filesOf(1)).toEqual([
      { path: 'echo.txt', data: Buffer.from('SECOND') },
      { path: 'seen.txt', data: Buffer.from('data main.py out') },
    ]);
  });

  it('caps each item’s output on its own', async () => {
    const run = await runBatchHarness(
      [
        { code: 'print("x" * 100)', max_output_bytes: 10 },
        { code: 'print("y" * 100)', max_output_bytes: 1000 },
      ],
      1,
    );

    expect(itemOutputOf(run, 0)).toBe('x'.repeat(10));
    expect(run.frames).toContainEqual({ type: 'truncated', stream: 'stdout', item: 0 });
    expect(itemOutputOf(run, 1)).toBe(`${'y'.repeat(100)}\n`);
    expect(itemExitOf(run, 0)).toMatchObject({ stdout_bytes: 101 });
  });

  it('refuses a batch with an invalid item as a bad payload, naming the item', async () => {
    const payload = JSON.stringify({
      batch: { parallelism: 1 },
      items: [{ ...DEFAULT_PAYLOAD, code: 'pass' }, { ...DEFAULT_PAYLOAD }],
    });
    const run = await runHarness(payload);

    expect(harnessErrorOf(run)).toBe("bad payload: item 1: field 'code' is missing or invalid");
  });
});

/** Whether the harness's python3 here, run as the harness runs it, imports every module named. */
function pythonHas(...modules: string[]): boolean {
  return canImport(HARNESS_PYTHON, modules);
}

// Figures and previews need matplotlib, numpy and pandas, which the runtime image has and
// `npm test` installs for Debian's python3 (scripts/ensure-ready.sh): where no python3 here
// has them, their cases are skipped (jest lists them as skipped), and the real-engine e2e
// specs still cover them against the runtime image.
const withMatplotlib = pythonHas('matplotlib', 'numpy') ? describe : describe.skip;
const withPandas = pythonHas('pandas', 'numpy') ? describe : describe.skip;

const FIGURES: FiguresRequest = {
  max_count: 10,
  max_bytes: 5 * 1024 * 1024,
  max_pixels: 1_000_000,
};
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The PNGs the figure frames carried (of `item`, in a batch), by index: each figure frame
 * is followed by file_data frames of exactly its size, and every PNG is one.
 */
function pngsOf(
  frames: readonly (HarnessMessage | BatchMessage)[],
  item?: number,
): Map<number, Buffer> {
  const pngs = new Map<number, Buffer>();
  let current: { index: number; size: number; chunks: Buffer[] } | null = null;
  const close = () => {
    if (current === null) return;
    const png = Buffer.concat(current.chunks);
    expect(png).toHaveLength(current.size);
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    pngs.set(current.index, png);
    current = null;
  };
  for (const frame of frames) {
    if ('item' in frame && frame.item !== item) continue;
    if (frame.type === 'file_data') {
      current?.chunks.push(Buffer.from(frame.data, 'base64'));
      continue;
    }
    close();
    if (frame.type === 'figure') current = { index: frame.index, size: frame.size, chunks: [] };
  }
  close();
  return pngs;
}

/** [width, height] of a PNG, from its header. */
function pngSize(png: Buffer): [number, number] {
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

// Runs everywhere: it needs no matplotlib, and says the harness imports none.
describe('sandbox harness figures, for code that draws none', () => {
  it('costs nothing to code that never imports matplotlib: no import, no directory', async () => {
    const code = py(
      'import os, sys',
      "heavy = ['re', 'enum', 'json', 'signal', 'traceback', 'linecache', 'binascii', 'matplotlib', 'importlib.util']",
      'print(sorted(name for name in heavy if name in sys.modules), os.listdir("."))',
    );
    const run = await runHarness({ code, debug_mode: false, figures: FIGURES });

    const bare = spawnSync(HARNESS_PYTHON, ['-I', '-c', code], { encoding: 'utf8' });
    expect(run.stdout).toBe(bare.stdout.replace(/\[[^\]]*\]\n$/, "['main.py']\n"));
    expect(resultOf(run)).toMatchObject({ figures: null, figures_omitted: 0 });
    expect(run.frames).toHaveLength(2);
  });
});

withMatplotlib('sandbox harness figures', () => {
  it(
    'renders what plt.show() shows, then what is left open, in that order, with their titles',
    async () => {
      const run = await runHarness({
        code: py(
          'import matplotlib.pyplot as plt',
          'plt.plot([1, 3, 2])',
          'plt.title("first, shown")',
          'plt.show()',
          'print("after show:", plt.get_fignums())',
          'plt.figure()',
          'plt.plot([2, 1])',
          'plt.suptitle("second, left open")',
          'plt.figure()',
          'plt.bar(["a", "b"], [1, 2])',
        ),
        figures: FIGURES,
      });

      // Shown figures are closed, as a notebook's inline backend closes them.
      expect(run.stdout).toBe('after show: []\n');
      const result = resultOf(run);
      expect(result.figures).toEqual([
        { index: 0, title: 'first, shown', error: null },
        { index: 1, title: 'second, left open', error: null },
        { index: 2, title: null, error: null },
      ]);
      expect(result.figures_omitted).toBe(0);
      const pngs = pngsOf(run.frames);
      expect([...pngs.keys()]).toEqual([0, 1, 2]);
      // matplotlib's default figure: 6.4 x 4.8 inches at 100 dpi.
      expect(pngSize(pngs.get(0)!)).toEqual([640, 480]);
      // After the output, before the exit frame, which stays last.
      expect(run.frames.map((frame) => frame.type).slice(0, 3)).toEqual([
        'stdout',
        'figure',
        'file_data',
      ]);
      expect(run.frames.at(-1)?.type).toBe('exit');
    },
    SLOW,
  );

  it(
    'gives one figure per plt.show() in a loop',
    async () => {
      const run = await runHarness({
        code: py(
          'import matplotlib.pyplot as plt',
          'for step in range(3):',
          '    plt.plot([step, step + 1])',
          '    plt.title(f"step {step}")',
          '    plt.show()',
        ),
        figures: FIGURES,
      });

      expect(resultOf(run).figures?.map((figure) => figure.title)).toEqual([
        'step 0',
        'step 1',
        'step 2',
      ]);
      expect(pngsOf(run.frames).size).toBe(3);
    },
    SLOW,
  );

  it(
    'reports a figure that cannot be drawn, and still renders the others and reports the variables',
    async () => {
      const run = await runHarness({
        code: py(
          'import matplotlib.pyplot as plt',
          'from matplotlib.artist import Artist',
          'class Broken(Artist):',
          '    def draw(self, renderer):',
          '        raise RuntimeError("cannot draw this")',
          'good = plt.figure()',
          'plt.plot([1, 2])',
          'bad = plt.figure()',
          'bad.gca().add_artist(Broken())',
          'bad.gca().set_title("broken")',
          'plt.figure()',
          'plt.plot([3, 4])',
          'answer = 42',
        ),
        figures: FIGURES,
      });

      expect(resultOf(run).figures).toEqual([
        { index: 0, title: null, error: null },
        { index: 1, title: 'broken', error: 'RuntimeError: cannot draw this' },
        { index: 2, title: null, error: null },
      ]);
      expect([...pngsOf(run.frames).keys()]).toEqual([0, 2]);
      expect(variablesOf(run).answer).toEqual({ type: 'int', value: 42, truncated: false });
      expect(exitOf(run).exit_code).toBe(0);
    },
    SLOW,
  );

  it(
    'renders a figure larger than max_pixels at a lower dpi',
    async () => {
      const run = await runHarness({
        code: py('import matplotlib.pyplot as plt', 'plt.figure(figsize=(20, 10), dpi=100)'),
        figures: { ...FIGURES, max_pixels: 200_000 },
      });

      const [width, height] = pngSize(pngsOf(run.frames).get(0)!);
      expect(width * height).toBeLessThanOrEqual(200_000);
      expect(width * height).toBeGreaterThan(190_000);
      expect(Math.round(width / height)).toBe(2);
    },
    SLOW,
  );

  it(
    'describes at most max_count figures, and counts the others',
    async () => {
      const run = await runHarness({
        code: py(
          'import matplotlib.pyplot as plt',
          'for n in range(5):',
          '    plt.figure()',
          '    plt.title(str(n))',
        ),
        figures: { ...FIGURES, max_count: 2 },
      });

      expect(resultOf(run).figures?.map((figure) => figure.title)).toEqual(['0', '1']);
      expect(resultOf(run).figures_omitted).toBe(3);
      expect(pngsOf(run.frames).size).toBe(2);
    },
    SLOW,
  );

  it(
    'says a figure is larger than what is left of max_bytes, and sends a smaller one after it',
    async () => {
      const run = await runHarness({
        code: py(
          'import matplotlib.pyplot as plt, numpy as np',
          'rng = np.random.default_rng(0)',
          'plt.figure(figsize=(8, 8))',
          'plt.scatter(rng.random(5000), rng.random(5000), c=rng.random(5000), s=4)',
          'plt.title("noisy")',
          'plt.figure(figsize=(2, 2))',
          'plt.title("small")',
        ),
        figures: { ...FIGURES, max_bytes: 40_000 },
      });

      expect(resultOf(run).figures).toEqual([
        { index: 0, title: 'noisy', error: 'larger than the figures budget' },
        { index: 1, title: 'small', error: null },
      ]);
      expect([...pngsOf(run.frames).keys()]).toEqual([1]);
    },
    SLOW,
  );

  it(
    'stops rendering when the job’s time is nearly over, and still sends the result',
    async () => {
      const run = await runHarness({
        code: py(
          'import time',
          'started = time.monotonic()',
          'import matplotlib.pyplot as plt',
          'plt.figure()',
          'time.sleep(max(0, 2.85 - (time.monotonic() - started)))',
        ),
        time_limit_s: 3,
        debug_mode: false,
        figures: FIGURES,
      });

      expect(exitOf(run)).toMatchObject({ harness_timeout: false, exit_code: 0 });
      expect(resultOf(run).figures).toEqual([
        { index: 0, title: null, error: 'no time left to render' },
      ]);
    },
    SLOW,
  );

  it(
    'sends only the figures the result lists, from regular files: not what the code put in their directory',
    async () => {
      const run = await runHarness({
        code: py(
          'import glob, os',
          'import matplotlib.pyplot as plt',
          'plt.figure()',
          'plt.show()',
          'plt.figure()',
          'plt.show()',
          '[directory] = glob.glob(".figures-*")',
          'os.unlink(f"{directory}/0.png")',
          'os.symlink("/etc/passwd", f"{directory}/0.png")',
          'open(f"{directory}/7.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\nforged")',
        ),
        figures: FIGURES,
      });

      expect(resultOf(run).figures).toEqual([
        { index: 0, title: null, error: 'could not be sent' },
        { index: 1, title: null, error: null },
      ]);
      expect([...pngsOf(run.frames).keys()]).toEqual([1]);
    },
    SLOW,
  );

  it(
    'captures plt.show() when a warm container preloaded pyplot',
    async () => {
      const preload = { SANDBOX_PRELOAD: 'matplotlib.pyplot' };
      const shown = await runHarness(
        {
          code: py(
            'import matplotlib.pyplot as plt',
            'for n in range(2):',
            '    plt.plot([n])',
            '    plt.show()',
          ),
          figures: FIGURES,
        },
        preload,
      );
      expect(resultOf(shown).figures).toHaveLength(2);

      const none = await runHarness({ code: 'print(1)', figures: FIGURES }, preload);
      expect(resultOf(none).figures).toBeNull();
    },
    SLOW,
  );

  it(
    'sends each batch item’s figures tagged with the item',
    async () => {
      const code = py(
        'import matplotlib.pyplot as plt',
        'for n in range(input_data):',
        '    plt.figure()',
        '    plt.title(f"figure {n}")',
      );
      const run = await runBatchHarness(
        [
          { code, input_data: 2, figures: FIGURES },
          { code: 'print("no figures")', figures: FIGURES },
          { code, input_data: 1, figures: FIGURES },
        ],
        2,
      );

      expect(itemExitOf(run, 0).result?.figures?.map((figure) => figure.title)).toEqual([
        'figure 0',
        'figure 1',
      ]);
      expect(itemExitOf(run, 1).result?.figures).toBeNull();
      expect(itemExitOf(run, 2).result?.figures).toHaveLength(1);
      expect(pngsOf(run.frames, 0).size).toBe(2);
      expect(pngsOf(run.frames, 2).size).toBe(1);
      // Figure frames come before their item's exit frame.
      const types = run.frames.filter((frame) => 'item' in frame && frame.item === 0);
      expect(types.at(-1)?.type).toBe('item_exit');
    },
    SLOW,
  );
});

withPandas('sandbox harness previews of pandas and numpy variables', () => {
  it(
    'previews a DataFrame: its shape, columns with dtypes and null counts, and its first rows, JSON-safe',
    async () => {
      const run = await runHarness({
        code: py(
          'import numpy as np, pandas as pd',
          'frame = pd.DataFrame({',
          '    "x": [1.5, np.nan, float("inf")],',
          '    "when": pd.to_datetime(["2024-01-02", None, "2024-03-01 12:30"]),',
          '    "kind": pd.Categorical(["a", "b", "a"]),',
          '    "big": [2**60, 1, -2],',
          '    "raw": [b"bytes", None, {"k": 1}],',
          '    "wait": pd.to_timedelta([1, None, 90], unit="m"),',
          '}, index=["r0", "r1", "r2"])',
        ),
      });

      const variable = variablesOf(run).frame;
      expect(variable).toMatchObject({ type: 'DataFrame', truncated: false });
      expect(variable.repr).toMatch(/^ +x +when +kind/);
      expect(variable.preview).toEqual({
        kind: 'dataframe',
        shape: [3, 6],
        columns: [
          { name: 'x', dtype: 'float64', nulls: 1 },
          { name: 'when', dtype: 'datetime64[ns]', nulls: 1 },
          { name: 'kind', dtype: 'category', nulls: 0 },
          { name: 'big', dtype: 'int64', nulls: 0 },
          { name: 'raw', dtype: 'object', nulls: 1 },
          { name: 'wait', dtype: 'timedelta64[ns]', nulls: 1 },
        ],
        columns_omitted: 0,
        index: ['r0', 'r1', 'r2'],
        rows: [
          [1.5, '2024-01-02T00:00:00', 'a', '1152921504606846976', "b'bytes'", '0 days 00:01:00'],
          [null, null, 'b', 1, null, null],
          ['inf', '2024-03-01T12:30:00', 'a', -2, "{'k': 1}", '0 days 01:30:00'],
        ],
        rows_omitted: 0,
      });
    },
    SLOW,
  );

  it(
    'previews a Series and numpy arrays: the first values, flattened in C order',
    async () => {
      const run = await runHarness({
        code: py(
          'import numpy as np, pandas as pd',
          'series = pd.Series([1.0, None, 3.0] * 30, name="load", index=pd.date_range("2024-01-01", periods=90))',
          'grid = np.arange(24).reshape(2, 3, 4).transpose()',
          'times = np.array(["2024-01-01T10:00", "NaT"], dtype="datetime64[s]")',
          'scalar = np.float32(0.5)',
        ),
      });

      const variables = variablesOf(run);
      expect(variables.series.preview).toMatchObject({
        kind: 'series',
        shape: [90],
        name: 'load',
        dtype: 'float64',
        nulls: 30,
        values_omitted: 40,
      });
      const series = variables.series.preview;
      if (series?.kind !== 'series') throw new Error('no Series preview');
      expect(series.values).toHaveLength(50);
      expect(series.values.slice(0, 4)).toEqual([1, null, 3, 1]);
      expect(series.index.slice(0, 2)).toEqual(['2024-01-01T00:00:00', '2024-01-02T00:00:00']);
      // The transpose is not contiguous: the preview still reads it in its C order.
      expect(variables.grid).toMatchObject({
        type: 'ndarray',
        preview: {
          kind: 'ndarray',
          shape: [4, 3, 2],
          dtype: 'int64',
          values: [
            0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23,
          ],
          values_omitted: 0,
        },
      });
      expect(variables.times.preview).toMatchObject({
        dtype: 'datetime64[s]',
        values: ['2024-01-01T10:00:00', null],
      });
      // A numpy scalar is no array: no preview.
      expect(variables.scalar).not.toHaveProperty('preview');
    },
    SLOW,
  );

  it(
    'bounds the preview of a large frame: 20 rows, 50 columns, the rest counted, long strings cut',
    async () => {
      const run = await runHarness({
        code: py(
          'import numpy as np, pandas as pd',
          'wide = pd.DataFrame(np.zeros((1_000_000, 60)))',
          'wide.iloc[::2, 5] = np.nan',
          'for column in range(10, 20):',
          '    wide[column] = "x" * 500',
        ),
      });

      const preview = variablesOf(run).wide.preview;
      if (preview?.kind !== 'dataframe') throw new Error('no DataFrame preview');
      expect(preview.shape).toEqual([1_000_000, 60]);
      expect(preview.columns).toHaveLength(50);
      expect(preview.columns_omitted).toBe(10);
      expect(preview.columns[5]).toEqual({ name: '5', dtype: 'float64', nulls: 500_000 });
      // 20 rows of ten 200-character strings would exceed the variable's 20,000 characters:
      // fewer rows are shown.
      expect(preview.rows.length).toBeLessThan(20);
      expect(preview.rows.length).toBeGreaterThan(5);
      expect(preview.rows_omitted).toBe(1_000_000 - preview.rows.length);
      expect(preview.rows[0][10]).toBe('x'.repeat(200));
      expect(variablesOf(run).wide.truncated).toBe(true);
    },
    SLOW,
  );

  it(
    'keeps a variable whose preview does not fit what is left of the exit frame, without it',
    async () => {
      // Each preview holds ~19,000 characters of control characters: ~115 KB in the frame,
      // where its variable without it takes ~6 KB.
      const run = await runHarness({
        code: py(
          'import pandas as pd',
          'for n in range(20):',
          '    globals()[f"frame{n}"] = pd.DataFrame([["\\x01" * 200] * 10] * 20)',
          'del n',
        ),
      });

      const frames = Object.values(variablesOf(run));
      expect(frames).toHaveLength(20);
      expect(resultOf(run).variables_omitted).toBe(0);
      expect(frames[0].preview).toBeDefined();
      expect(frames.at(-1)).toMatchObject({ type: 'DataFrame', truncated: true });
      expect(frames.at(-1)).not.toHaveProperty('preview');
      expect(run.lastLineBytes).toBeLessThanOrEqual(MAX_EXIT_FRAME_BYTES);
    },
    SLOW,
  );

  it('previews no subclass of DataFrame, and no variable outside debug mode', async () => {
    const code = py(
      'import pandas as pd',
      'class Mine(pd.DataFrame):',
      '    pass',
      'mine = Mine({"a": [1]})',
      'plain = pd.DataFrame({"a": [1]})',
    );
    const run = await runHarness({ code });
    expect(variablesOf(run).mine).not.toHaveProperty('preview');
    expect(variablesOf(run).plain).toHaveProperty('preview');

    const quiet = await runHarness({ code, debug_mode: false });
    expect(resultOf(quiet).variables_after).toBeNull();
  });
});

describe('sandbox harness profile', () => {
  /** The result's profile, which must be there. */
  function profileOf(run: HarnessRun): HarnessProfile {
    const { profile } = resultOf(run);
    if (profile === null) throw new Error('the result has no profile');
    return profile;
  }

  it(
    'lists the user’s functions first, by cumulative time, with their calls, and no harness function',
    async () => {
      const run = await runHarness({
        code: py(
          'def slow():',
          '    total = 0',
          '    for n in range(200_000):',
          '        total += n % 7',
          '    return total',
          'def quick():',
          '    return 1',
          'for _ in range(3):',
          '    quick()',
          'slow()',
          'sorted(range(1000))',
        ),
        profile: true,
        debug_mode: false,
      });

      const { functions, error } = profileOf(run);
      expect(error).toBeNull();
      expect(functions.slice(0, 3)).toMatchObject([
        { function: '<module>', file: 'main.py', line: 1, calls: 1, user_code: true },
        { function: 'slow', file: 'main.py', line: 1, calls: 1, user_code: true },
        { function: 'quick', file: 'main.py', line: 6, calls: 3, user_code: true },
      ]);
      expect(functions[1].cumulative_ms).toBeGreaterThan(functions[2].cumulative_ms);
      expect(functions[1].self_ms).toBeGreaterThan(0);
      expect(functions).toContainEqual(
        expect.objectContaining({
          function: '<built-in method builtins.sorted>',
          file: '<built-in>',
          line: null,
          user_code: false,
        }),
      );
      // Nothing of the harness: its file is the bootstrap's <string>.
      expect(functions.filter((entry) => entry.file === '<string>')).toEqual([]);
      expect(functions.filter((entry) => /_lsprof|_tracemalloc/.test(entry.function))).toEqual([]);
    },
    SLOW,
  );

  it('points at the line that allocated the most, at the peak, even when it was freed since', async () => {
    const run = await runHarness({
      code: py(
        'import time',
        'def build():',
        '    return [str(n) * 10 for n in range(100_000)]',
        'kept = [0] * 1000',
        'big = build()',
        'time.sleep(0)',
        'del big',
      ),
      profile: true,
      debug_mode: false,
      time_limit_s: 60,
    });

    const { allocations, peak_traced_bytes: peak } = profileOf(run);
    expect(allocations[0]).toMatchObject({
      file: 'main.py',
      line: 3,
      source: 'return [str(n) * 10 for n in range(100_000)]',
    });
    // Within a fifth of the peak: 100,000 strings of ~70 bytes.
    expect(allocations[0].blocks).toBeGreaterThan(75_000);
    expect(allocations[0].bytes).toBeGreaterThan(5_000_000);
    expect(peak).toBeGreaterThanOrEqual(allocations[0].bytes);
  }, 60_000);

  it(
    'times the imports of modules not yet loaded, outermost only, the longest first',
    async () => {
      const run = await runHarness({
        code: py('import json', 'import os', 'from decimal import Decimal', 'import json'),
        profile: true,
        debug_mode: false,
      });

      const { imports, imports_omitted: omitted } = profileOf(run);
      // os was loaded at start-up; json's own imports (json.decoder, re...) are within it.
      expect(imports.map(({ module }) => module).sort()).toEqual(['decimal', 'json']);
      expect(imports[0].ms).toBeGreaterThanOrEqual(imports[1].ms);
      expect(omitted).toBe(0);
    },
    SLOW,
  );

  it(
    'says which part the code kept from being taken, and still reports the rest',
    async () => {
      const run = await runHarness({
        code: py(
          'import signal, tracemalloc',
          'signal.signal(signal.SIGPROF, signal.SIG_IGN)',
          'tracemalloc.stop()',
          'def work():',
          '    return sum(range(1000))',
          'work()',
        ),
        profile: true,
        debug_mode: false,
      });

      const profile = profileOf(run);
      // Importing tracemalloc may have grown traced memory enough for a snapshot before.
      expect(profile.error).toMatch(
        /^the code replaced the SIGPROF handler: allocations are from the end only; the code stopped tracemalloc: (no allocations|allocations are from before)$/,
      );
      expect(profile.functions.map(({ function: name }) => name)).toContain('work');
    },
    SLOW,
  );

  it('imports nothing for a profile without one, and reports none', async () => {
    const code = py(
      'import sys',
      "print(sorted(m for m in ('_lsprof', '_tracemalloc', 'cProfile', 'tracemalloc') if m in sys.modules))",
    );
    const run = await runHarness({ code, debug_mode: false });

    expect(run.stdout).toBe('[]\n');
    expect(resultOf(run).profile).toBeNull();
  });

  it('reports a missing module by its name, with or without a profile, and no harness frame on stderr', async () => {
    for (const profile of [false, true]) {
      const run = await runHarness({
        code: py('import os', 'import no_such_module'),
        profile,
        figures: FIGURES,
      });

      expect(onlyExceptionOf(run)).toMatchObject({
        type: 'ModuleNotFoundError',
        message: "No module named 'no_such_module'",
        line: 2,
        frames: [{ file: 'main.py', line: 2, source: 'import no_such_module' }],
      });
      expect(run.stderr).toBe(
        'Traceback (most recent call last):\n' +
          '  File "main.py", line 2, in <module>\n' +
          '    import no_such_module\n' +
          "ModuleNotFoundError: No module named 'no_such_module'\n",
      );
    }
  });
});

withPandas('sandbox harness: a job that arrives while the preload is under way', () => {
  // pandas takes a few hundred ms to import: the job below arrives long before that.
  const preload = { SANDBOX_PRELOAD: 'pandas' };

  it('runs at once when it does not import the modules still on their way', async () => {
    const run = await runHarness({ code: "import sys\nprint('pandas' in sys.modules)" }, preload);
    expect(run.stdout).toBe('False\n');
    expect(exitOf(run).exit_code).toBe(0);
    // Dismissed: how long it had been importing when the job came.
    expect(exitOf(run).preload?.ready).toBe(false);
    expect(exitOf(run).preload?.ms).toBeGreaterThanOrEqual(0);
  });

  it('waits for the waiting worker when it imports one of them, and finds it imported', async () => {
    const run = await runHarness(
      { code: "import sys\nfirst = 'pandas' in sys.modules\nimport pandas\nprint(first)" },
      preload,
    );
    expect(run.stdout).toBe('True\n');
  });

  it("leaves the preload's CPU time out of the job's", async () => {
    const importing = await runHarness({ code: 'import pandas' });
    const warm = await runHarness({ code: 'print(1)' }, preload, 3_000);
    expect(warm.stdout).toBe('1\n');
    expect(exitOf(warm).cpu_time_ms).toBeLessThan(exitOf(importing).cpu_time_ms / 2);
  });

  it('preloads for a batch only what its items import, before forking them', async () => {
    const probe = "import sys\nprint('pandas' in sys.modules, 'colorsys' in sys.modules)";
    const run = await runBatchHarness(
      [{ code: `${probe}\nimport pandas` }, { code: probe }],
      2,
      [],
      { SANDBOX_PRELOAD: 'pandas,colorsys' },
    );
    expect([itemOutputOf(run, 0), itemOutputOf(run, 1)]).toEqual(['True False\n', 'True False\n']);
  });
});
