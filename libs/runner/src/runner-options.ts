/** How to reach the engine and how to mark our containers. Injection token and shape. */
export abstract class RunnerOptions {
  /** `unix:///path/to/docker.sock` or `tcp://host:port`; the local socket when absent. */
  abstract readonly dockerHost: string | undefined;
  /** Label key put on every container we start; its value is the job id. */
  abstract readonly containerLabel: string;
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
