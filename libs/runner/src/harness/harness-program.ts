/**
 * How the harness reaches a container (PROTOCOL.md, "Starting the harness"): the command
 * line carries only a bootstrap of a few lines; the harness itself is the first thing
 * written to stdin, as its source or as the code object the image's own Python compiled
 * from it, once per image.
 *
 * Why not `python3 -c <harness>`: the engine copies a container's command into its
 * config, its OCI spec and its state files, several times per container. Measured here
 * at 8 clients, 43 KB of command line cost about 15 ms of host CPU per job in dockerd,
 * containerd and the shim; the same bytes on stdin cost nothing measurable. Compiling
 * those 43 KB cost each container another ~6 ms, which the compiled form skips.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The harness's source, as it ships with the runner. */
export const HARNESS_SOURCE = readFileSync(join(__dirname, 'sandbox_harness.py'));

/**
 * Reads `<length> <kind>\n` and the program from stdin, and runs it in this module's
 * namespace, as `-c` would have: `source`, or the `sys.hexversion` of the Python that
 * marshalled the code (bytecode is only valid for the version that made it).
 */
const BOOTSTRAP = [
  'import sys, marshal',
  '_stdin = sys.stdin.buffer',
  '_length, _kind = _stdin.readline().split()',
  '_program = _stdin.read(int(_length))',
  "if _kind != b'source' and int(_kind) != sys.hexversion:",
  "    sys.exit('the harness was compiled for another Python version')",
  "exec(_program if _kind == b'source' else marshal.loads(_program))",
].join('\n');

/** The command every sandbox container starts with. */
export const HARNESS_COMMAND: readonly string[] = ['python3', '-I', '-c', BOOTSTRAP];

/**
 * Reads `<length>\n` and that much source from stdin, compiles it as `-c` would, and
 * writes `<sys.hexversion> <length>\n` and the marshalled code object.
 */
const COMPILER = [
  'import sys, marshal',
  '_stdin = sys.stdin.buffer',
  '_source = _stdin.read(int(_stdin.readline()))',
  "_code = marshal.dumps(compile(_source, '<string>', 'exec', dont_inherit=True))",
  "sys.stdout.buffer.write(b'%d %d\\n' % (sys.hexversion, len(_code)) + _code)",
].join('\n');

/** The command of the one container per image that compiles the harness. */
export const HARNESS_COMPILER_COMMAND: readonly string[] = ['python3', '-I', '-c', COMPILER];

/** What the compiler container reads on stdin. */
export const HARNESS_COMPILER_INPUT = Buffer.concat([
  Buffer.from(`${HARNESS_SOURCE.length}\n`, 'ascii'),
  HARNESS_SOURCE,
]);

/** A marshalled code object is a few times its source at most; more is not our compiler's. */
export const MAX_COMPILED_HARNESS_BYTES = 16 * HARNESS_SOURCE.length;

/** The harness as one image's Python compiled it. */
export interface CompiledHarness {
  /** `sys.hexversion` of the Python that compiled it. */
  readonly pythonVersion: number;
  readonly code: Buffer;
}

/** `sys.hexversion` as Python prints its version: 0x030b02f0 is 3.11.2. */
export function pythonVersionOf(hexversion: number): string {
  return [24, 16, 8].map((shift) => (hexversion >>> shift) & 0xff).join('.');
}

/** The harness frame: what a container reads first on stdin, before its job's payload. */
export function harnessFrame(compiled: CompiledHarness | null): Buffer {
  return compiled
    ? Buffer.concat([
        Buffer.from(`${compiled.code.length} ${compiled.pythonVersion}\n`),
        compiled.code,
      ])
    : Buffer.concat([Buffer.from(`${HARNESS_SOURCE.length} source\n`), HARNESS_SOURCE]);
}

/**
 * The compiler container's stdout, checked: `<hexversion> <length>\n` and exactly that
 * many bytes. Throws saying what is wrong.
 */
export function parseCompiledHarness(output: Buffer): CompiledHarness {
  const newline = output.indexOf(0x0a);
  const header = newline > 0 && newline <= 40 ? output.subarray(0, newline).toString('ascii') : '';
  const match = /^(\d{1,12}) (\d{1,12})$/.exec(header);
  if (!match) throw new Error('the compiler wrote no "<hexversion> <length>" header');
  const length = Number(match[2]);
  const code = output.subarray(newline + 1);
  if (length === 0 || length > MAX_COMPILED_HARNESS_BYTES || code.length !== length) {
    throw new Error(`the compiler announced ${length} bytes of code and wrote ${code.length}`);
  }
  return { pythonVersion: Number(match[1]), code: Buffer.from(code) };
}
