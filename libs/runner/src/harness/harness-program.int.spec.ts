/**
 * The harness's bootstrap and compiler, run with this machine's `python3` as a container
 * would run them (sandbox_harness.spec.ts covers the harness itself, sent as source).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HARNESS_COMMAND,
  HARNESS_COMPILER_COMMAND,
  HARNESS_COMPILER_INPUT,
  HARNESS_SOURCE,
  MAX_COMPILED_HARNESS_BYTES,
  type CompiledHarness,
  harnessFrame,
  parseCompiledHarness,
} from './harness-program';
import { HarnessFrameDecoder, MAX_FRAME_BYTES, encodePayload } from './harness-protocol';

function run(command: readonly string[], input: Buffer) {
  const [python, ...args] = command;
  const workdir = mkdtempSync(join(tmpdir(), 'harness-')); // the worker writes main.py there
  const result = spawnSync(python, args, { cwd: workdir, input, timeout: 20_000 });
  rmSync(workdir, { recursive: true, force: true });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
}

function compiledHere(): CompiledHarness {
  const compiler = run(HARNESS_COMPILER_COMMAND, HARNESS_COMPILER_INPUT);
  expect(compiler).toMatchObject({ status: 0, stderr: '' });
  return parseCompiledHarness(compiler.stdout);
}

const PAYLOAD = encodePayload({
  code: 'import sys\nprint(sys.argv, __name__)\nraise ValueError("x")',
  input_data: null,
  debug_mode: false,
  max_output_bytes: 1024,
  time_limit_s: 10,
  filename: 'main.py',
});

/** The frames the harness wrote when started through the bootstrap with `program`. */
function framesOf(program: Buffer) {
  const harness = run(HARNESS_COMMAND, Buffer.concat([program, PAYLOAD]));
  expect(harness).toMatchObject({ status: 0, stderr: '' });
  const decoder = new HarnessFrameDecoder(MAX_FRAME_BYTES);
  const frames = decoder.push(harness.stdout);
  expect(decoder.rejectedLines).toBe(0);
  return frames;
}

describe('the harness program', () => {
  it('runs the same from its source and compiled by the same Python', () => {
    const compiled = compiledHere();
    expect(compiled.code.length).toBeGreaterThan(HARNESS_SOURCE.length / 4);
    expect(compiled.code.length).toBeLessThanOrEqual(MAX_COMPILED_HARNESS_BYTES);

    const fromSource = framesOf(harnessFrame(null));
    const fromCode = framesOf(harnessFrame(compiled));
    // Output arrives in chunks as the pipes were read; what was written must be the same.
    const comparable = (frames: ReturnType<typeof framesOf>) => ({
      stdout: frames.map((frame) => (frame.type === 'stdout' ? frame.data : '')).join(''),
      stderr: frames.map((frame) => (frame.type === 'stderr' ? frame.data : '')).join(''),
      exit: frames
        .filter((frame) => frame.type === 'exit')
        .map((frame) => ({
          ...frame,
          cpu_time_ms: 0,
          max_rss_kb: 0,
          preload: frame.preload && { ...frame.preload, ms: 0 },
          result: frame.result && { ...frame.result, duration_ms: 0 },
        })),
    });
    expect(comparable(fromCode)).toEqual(comparable(fromSource));
    // The user's code sees a plain `python main.py`; its error points at its own line.
    expect(fromSource[0]).toEqual({ type: 'stdout', data: "['main.py'] __main__\n" });
    const exit = fromSource.at(-1);
    expect(exit).toMatchObject({
      type: 'exit',
      exit_code: 1,
      result: { exceptions: [{ type: 'ValueError', line: 3 }] },
    });
  });

  it('refuses code compiled by another Python version, saying so', () => {
    const compiled = compiledHere();
    const harness = run(
      HARNESS_COMMAND,
      Buffer.concat([
        harnessFrame({ ...compiled, pythonVersion: compiled.pythonVersion + 1 }),
        PAYLOAD,
      ]),
    );
    expect(harness.status).toBe(1);
    expect(harness.stdout.length).toBe(0);
    expect(harness.stderr).toContain('compiled for another Python version');
  });

  it.each([
    ['no header', Buffer.from('abc')],
    ['a header that is not numbers', Buffer.from('3.11 5\nabcde')],
    ['fewer bytes than announced', Buffer.from('51053296 10\nabc')],
    ['more bytes than announced', Buffer.from('51053296 2\nabc')],
    ['no code', Buffer.from('51053296 0\n')],
    [
      'too much code',
      Buffer.concat([
        Buffer.from(`51053296 ${MAX_COMPILED_HARNESS_BYTES + 1}\n`),
        Buffer.alloc(MAX_COMPILED_HARNESS_BYTES + 1),
      ]),
    ],
  ])('refuses compiler output with %s', (_, output) => {
    expect(() => parseCompiledHarness(output)).toThrow(/compiler/);
  });
});
