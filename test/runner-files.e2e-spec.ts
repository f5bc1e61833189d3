/**
 * DockerodeRunner against the Docker engine on this machine (DOCKER_HOST, or the local
 * socket) and the runtime image (SANDBOX_IMAGE, or the service's default tag): the one
 * runner spec that needs the engine, for what only a real container shows, such as
 * input and output files crossing the attach stream.
 */
import { Readable } from 'node:stream';
import {
  type ContainerLimits,
  DockerodeRunner,
  InputFileError,
  type JobInputFile,
  type RunListener,
  type SandboxJob,
} from '@brain-net/runner';

const IMAGE = process.env.SANDBOX_IMAGE ?? 'brain-net-sandbox-runtime:3.11';

const LIMITS: ContainerLimits = {
  memoryBytes: 256 * 1024 * 1024,
  cpus: 1,
  pids: 64,
  tmpfsBytes: 64 * 1024 * 1024,
  openFiles: 256,
  fileSizeBytes: 32 * 1024 * 1024,
  user: '10001:10001',
};

const LISTENER: RunListener = { onStarted: () => undefined, onOutput: () => undefined };

/** An input file whose stream gives `data` in chunks of 64 KiB, announced as `size` bytes. */
function inputFile(path: string, data: Buffer, size = data.length): JobInputFile {
  const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, index) =>
    data.subarray(index * 65536, (index + 1) * 65536),
  );
  return { path, size, open: () => Promise.resolve(Readable.from(chunks)) };
}

function job(
  code: string,
  { files, output_files }: Pick<SandboxJob, 'files'> & Pick<SandboxJob['payload'], 'output_files'>,
): SandboxJob {
  return {
    jobId: `runner-int-${Math.random().toString(36).slice(2)}`,
    image: IMAGE,
    payload: {
      code,
      debug_mode: false,
      max_output_bytes: 64 * 1024,
      time_limit_s: 20,
      filename: 'main.py',
      output_files,
    },
    inputJson: 'null',
    files,
    limits: LIMITS,
    timeoutMs: 30_000,
  };
}

describe('DockerodeRunner with a real engine', () => {
  const runner = new DockerodeRunner({
    dockerHost: process.env.DOCKER_HOST,
    instanceId: `runner-int-${process.pid}`,
    warmPool: null,
  });

  beforeAll(async () => {
    await runner.ping();
    if (!(await runner.findImage(IMAGE))) throw new Error(`the engine has no image ${IMAGE}`);
  });

  afterAll(async () => {
    await runner.close();
    await runner.removeLeftovers();
  });

  it('puts input files in the container and brings output files back, byte for byte', async () => {
    const binary = Buffer.from(Array.from({ length: 256 * 1024 }, (_, index) => index % 256));
    const outcome = await runner.run(
      job(
        [
          'import os',
          'rows = open("data/input.csv").read().splitlines()',
          'blob = open("blob.bin", "rb").read()',
          'os.makedirs("out/nested")',
          'open("out/count.txt", "w").write(f"{len(rows)} {len(blob)}")',
          'open("out/nested/reversed.bin", "wb").write(blob[::-1])',
          'open("out/too-big.bin", "wb").write(b"x" * 2_000_000)',
        ].join('\n'),
        {
          files: [
            inputFile('data/input.csv', Buffer.from('a,b\n1,2\n3,4\n')),
            inputFile('blob.bin', binary),
          ],
          output_files: { max_count: 5, max_bytes: 1024 * 1024 },
        },
      ),
      LISTENER,
      new AbortController().signal,
    );

    expect(outcome.harnessError).toBeNull();
    expect(outcome.exit).toMatchObject({ exit_code: 0 });
    expect(outcome.outputFiles).toEqual({
      files: [
        { path: 'count.txt', data: Buffer.from(`3 ${binary.length}`) },
        { path: 'nested/reversed.bin', data: Buffer.from(binary).reverse() },
      ],
      omitted: [{ path: 'too-big.bin', size: 2_000_000 }],
      omittedCount: 1,
    });
  });

  it('gives up the run, container and all, when an input stream does not match its size', async () => {
    const short = inputFile('short.txt', Buffer.from('abc'), 10);

    await expect(
      runner.run(job('print("ran")', { files: [short] }), LISTENER, new AbortController().signal),
    ).rejects.toThrow(InputFileError);
    expect(await runner.countOwnContainers()).toBe(0);
  });
});
