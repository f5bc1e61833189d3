import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { ContainerLimits } from './container-limits';
import {
  DockerRunner,
  EngineImage,
  EngineUnavailableError,
  RunListener,
  RunOutcome,
  SandboxJob,
  StopReason,
} from './docker-runner';
import {
  HarnessExit,
  HarnessFrameDecoder,
  OutputStream,
  encodePayload,
} from './harness/harness-protocol';
import { JOB_LABEL, RunnerOptions, SANDBOX_LABEL, engineAddress } from './runner-options';

const HARNESS_SOURCE = readFileSync(join(__dirname, 'harness', 'sandbox_harness.py'), 'utf8');
/** What we keep of output written outside the protocol, for diagnosis only. */
const MAX_DIAGNOSTICS_BYTES = 16 * 1024;
/** After the container exits, how long the attach stream may take to deliver its tail. */
const STREAM_DRAIN_MS = 2_000;
/** How long past a job's deadline the engine may take to report its exit before we stop waiting. */
const GIVE_UP_AFTER_DEADLINE_MS = 30_000;

/** Runs each job in a fresh container through dockerode. Engine I/O only. */
@Injectable()
export class DockerodeRunner extends DockerRunner {
  private readonly logger = new Logger(DockerodeRunner.name);
  private readonly docker: Docker;
  /** Containers whose removal failed (the engine went away mid-run): retried when it answers. */
  private readonly unremoved = new Set<string>();

  constructor(private readonly options: RunnerOptions) {
    super();
    this.docker = new Docker(engineAddress(options.dockerHost));
  }

  async run(job: SandboxJob, listener: RunListener, signal: AbortSignal): Promise<RunOutcome> {
    if (this.unremoved.size > 0) await this.retryRemovals();
    const createdAt = Date.now();
    const container = await this.engineCall('create a container', () =>
      this.docker.createContainer(this.containerSpec(job)),
    );
    try {
      return await this.runCreated(container, job, listener, signal, createdAt);
    } finally {
      await this.remove(container.id);
    }
  }

  /** Force-removes a container; if the engine cannot be reached, remembers it for later. */
  private async remove(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).remove({ force: true, v: true });
      this.unremoved.delete(containerId);
    } catch (error: unknown) {
      if (statusCodeOf(error) === 404) {
        this.unremoved.delete(containerId);
        return;
      }
      this.unremoved.add(containerId);
      this.logger.error(
        `could not remove container ${containerId}, will retry: ${describe(error)}`,
      );
    }
  }

  private async retryRemovals(): Promise<void> {
    await Promise.all([...this.unremoved].map((id) => this.remove(id)));
  }

  private async runCreated(
    container: Docker.Container,
    job: SandboxJob,
    listener: RunListener,
    signal: AbortSignal,
    createdAt: number,
  ): Promise<RunOutcome> {
    const stream = await this.engineCall('attach to the container', async () =>
      asDuplex(
        await container.attach({
          stream: true,
          stdin: true,
          stdout: true,
          stderr: true,
          hijack: true,
        }),
      ),
    );
    const decoder = new HarnessFrameDecoder(4 * job.payload.max_output_bytes + 1024 * 1024);
    const truncated = { stdout: false, stderr: false };
    let exit: HarnessExit | null = null;
    let harnessError: string | null = null;
    let diagnostics = '';

    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    stdout.on('data', (chunk: Buffer) => {
      for (const message of decoder.push(chunk)) {
        switch (message.type) {
          case 'stdout':
          case 'stderr':
            listener.onOutput(message.type, message.data);
            break;
          case 'truncated':
            truncated[message.stream satisfies OutputStream] = true;
            break;
          case 'exit':
            exit = message;
            break;
          case 'harness_error':
            harnessError = message.message;
            break;
        }
      }
    });
    stderr.on('data', (chunk: Buffer) => {
      if (diagnostics.length < MAX_DIAGNOSTICS_BYTES) {
        diagnostics += chunk.toString('utf8').slice(0, MAX_DIAGNOSTICS_BYTES - diagnostics.length);
      }
    });
    const streamEnded = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });

    let stopReason: StopReason = 'exited';
    const kill = (reason: StopReason) => {
      if (stopReason !== 'exited') return;
      stopReason = reason;
      container.kill().catch(() => {
        // Already gone: nothing to kill.
      });
    };
    const onAbort = () => kill('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    let deadline: NodeJS.Timeout | undefined;

    try {
      if (signal.aborted) stopReason = 'aborted';
      if (stopReason === 'aborted') {
        stream.destroy();
        return this.abortedBeforeStart(container.id, createdAt);
      }
      await this.engineCall('start the container', () => container.start());
      const startedAt = new Date();
      deadline = setTimeout(() => kill('timeout'), job.timeoutMs);
      listener.onStarted({ containerId: container.id, startedAt });
      // Written, not ended: the harness reads a length-framed payload, so no half-close
      // has to travel through whatever stands between us and the engine.
      stream.write(encodePayload(job.payload));

      const exitCode = await this.awaitExit(container, streamEnded, job.timeoutMs);
      const endedAt = new Date();
      clearTimeout(deadline);
      await Promise.race([streamEnded, delay(STREAM_DRAIN_MS)]);
      const state = await this.engineCall('inspect the container', () => container.inspect());
      return {
        containerId: container.id,
        imageId: state.Image ?? null,
        startedAt,
        endedAt,
        stopReason,
        containerExitCode: exitCode,
        oomKilled: state.State?.OOMKilled ?? false,
        exit,
        truncated,
        harnessError,
        diagnostics:
          decoder.rejectedLines > 0
            ? `${decoder.rejectedLines} lines on the harness channel were not frames.\n${diagnostics}`
            : diagnostics,
        timings: {
          containerStartMs: startedAt.getTime() - createdAt,
          runMs: endedAt.getTime() - startedAt.getTime(),
        },
      };
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }

  /**
   * The container's exit code. The engine's wait call answers its headers at once and
   * may then hang forever if the connection drops, so the attach stream ending (or a
   * last-resort deadline) also ends the wait, and the engine is asked directly.
   */
  private async awaitExit(
    container: Docker.Container,
    streamEnded: Promise<void>,
    timeoutMs: number,
  ): Promise<number | null> {
    const waited = container.wait().then(
      (answer: unknown) => ({ kind: 'waited' as const, exitCode: statusCodeOfWait(answer) }),
      (error: unknown) => ({ kind: 'failed' as const, error }),
    );
    const settled = await Promise.race([
      waited,
      streamEnded
        .then(() => delay(STREAM_DRAIN_MS))
        .then(() => ({ kind: 'stream ended' as const })),
      delay(timeoutMs + GIVE_UP_AFTER_DEADLINE_MS).then(() => ({ kind: 'gave up' as const })),
    ]);
    switch (settled.kind) {
      case 'waited':
        return settled.exitCode;
      case 'failed':
        throw new EngineUnavailableError(
          `could not wait for the container: ${describe(settled.error)}`,
          {
            cause: settled.error,
          },
        );
      case 'stream ended':
      case 'gave up': {
        const state = await this.engineCall('inspect the container', () => container.inspect());
        if (state.State.Running) {
          throw new EngineUnavailableError('lost the connection to the running container');
        }
        return state.State.ExitCode;
      }
    }
  }

  private abortedBeforeStart(containerId: string, createdAt: number): RunOutcome {
    const now = new Date();
    return {
      containerId,
      imageId: null,
      startedAt: now,
      endedAt: now,
      stopReason: 'aborted',
      containerExitCode: null,
      oomKilled: false,
      exit: null,
      truncated: { stdout: false, stderr: false },
      harnessError: null,
      diagnostics: '',
      timings: { containerStartMs: now.getTime() - createdAt, runMs: 0 },
    };
  }

  private containerSpec(job: SandboxJob): Docker.ContainerCreateOptions {
    const limits: ContainerLimits = job.limits;
    return {
      Image: job.image,
      Cmd: ['python3', '-I', '-c', HARNESS_SOURCE],
      User: limits.user,
      WorkingDir: '/tmp',
      Env: ['HOME=/tmp', 'LANG=C.UTF-8', 'OPENBLAS_NUM_THREADS=1', 'MPLCONFIGDIR=/tmp'],
      Labels: { [SANDBOX_LABEL]: this.options.instanceId, [JOB_LABEL]: job.jobId },
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      // Both: NetworkMode none removes interfaces, NetworkDisabled skips network setup
      // entirely (which also makes cold starts faster).
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        Memory: limits.memoryBytes,
        MemorySwap: limits.memoryBytes,
        NanoCpus: Math.round(limits.cpus * 1e9),
        PidsLimit: limits.pids,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpfsBytes}` },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Ulimits: [
          { Name: 'nofile', Soft: limits.openFiles, Hard: limits.openFiles },
          { Name: 'fsize', Soft: limits.fileSizeBytes, Hard: limits.fileSizeBytes },
          { Name: 'core', Soft: 0, Hard: 0 },
        ],
        IpcMode: 'none',
        // Output travels over the attach stream; the engine keeps no log copy.
        LogConfig: { Type: 'none', Config: {} },
        AutoRemove: false,
      },
    };
  }

  /** Also the moment to remove what an engine outage left behind: probes ping often. */
  async ping(): Promise<void> {
    await this.engineCall('ping the engine', () => this.docker.ping());
    if (this.unremoved.size > 0) await this.retryRemovals();
  }

  async findImage(tag: string): Promise<EngineImage | null> {
    try {
      const image = await this.docker.getImage(tag).inspect();
      return { id: image.Id, tag };
    } catch (error: unknown) {
      if (statusCodeOf(error) === 404) return null;
      throw new EngineUnavailableError(`could not inspect image ${tag}: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  async removeLeftovers(): Promise<number> {
    const leftovers = await this.listOwn();
    await Promise.all(leftovers.map((info) => this.remove(info.Id)));
    return leftovers.length;
  }

  async countOwnContainers(): Promise<number> {
    return (await this.listOwn()).length;
  }

  private listOwn(): Promise<Docker.ContainerInfo[]> {
    return this.engineCall('list containers', () =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${SANDBOX_LABEL}=${this.options.instanceId}`] },
      }),
    );
  }

  private async engineCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error: unknown) {
      throw new EngineUnavailableError(`could not ${what}: ${describe(error)}`, { cause: error });
    }
  }
}

/** A hijacked attach is a socket: readable and writable, and destroyable. */
function asDuplex(stream: NodeJS.ReadWriteStream): Duplex {
  if (stream instanceof Duplex) return stream;
  throw new Error('the engine did not hand back a duplex attach stream');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The engine's wait answer is `{ StatusCode: number }`. */
function statusCodeOfWait(waited: unknown): number | null {
  if (typeof waited === 'object' && waited !== null && 'StatusCode' in waited) {
    return typeof waited.StatusCode === 'number' ? waited.StatusCode : null;
  }
  return null;
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const { statusCode } = error;
    return typeof statusCode === 'number' ? statusCode : undefined;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
