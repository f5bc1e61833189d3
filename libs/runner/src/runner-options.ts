/** Label on every sandbox container; its value is the id of the service instance that owns it. */
export const SANDBOX_LABEL = 'brain-net.sandbox';
import type { ContainerLimits } from './container-limits';

/** Label on every sandbox container; its value is the job id (or `warm-pool`). */
export const JOB_LABEL = 'brain-net.sandbox.job';
/** The job label of the one container per image that compiles the harness (PROTOCOL.md). */
export const HARNESS_COMPILER_JOB = 'harness-compiler';

/** How to reach the engine and whose containers are ours. Injection token and shape. */
export abstract class RunnerOptions {
  /** `unix:///path/to/docker.sock` or `tcp://host:port`; the local socket when absent. */
  abstract readonly dockerHost: string | undefined;
  /**
   * This service instance. Start-up sweeps and counts cover only its containers, so
   * instances sharing one engine never remove each other's.
   */
  abstract readonly instanceId: string;
  /** Containers to keep started ahead of jobs of these images and these limits; null for none. */
  abstract readonly warmPool: WarmPoolSpec | null;
}

export interface WarmPoolSpec {
  /**
   * The budget: warm containers, ready or being prepared, of all the images together. The
   * pool keeps fewer when jobs arrive slowly (WarmTarget).
   */
  readonly size: number;
  /**
   * The images a warm container may be of, the default runtime's first: it has the whole
   * budget until jobs show demand for others, then each gets its share (splitWarmBudget).
   */
  readonly images: readonly string[];
  readonly limits: ContainerLimits;
  /**
   * Modules the harness of a warm container may import while it waits for its job, so
   * that the job's own import finds them loaded (SANDBOX_PRELOAD): each kind of warm
   * container preloads those its jobs import (WarmPools). Cold containers import nothing ahead.
   */
  readonly preload: readonly string[];
  /**
   * The cores the jobs share: the pool keeps as many preparations under way as cores the
   * jobs running leave free, so that preparing warm containers never slows them down.
   */
  readonly cores: number;
}

export interface EngineAddress {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: 'http' | 'https';
}

/** Translates a DOCKER_HOST-style address into dockerode's connection options. */
export function engineAddress(dockerHost: string | undefined): EngineAddress {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  const url = new URL(dockerHost);
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: url.pathname };
    case 'tcp:':
    case 'http:':
      return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
    case 'https:':
      return { host: url.hostname, port: Number(url.port || 2376), protocol: 'https' };
    default:
      throw new Error(`unsupported Docker host ${dockerHost}: use unix:// or tcp://`);
  }
}
