import { Server, Socket, createConnection, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { engineAddress } from '@brain-net/runner';

/**
 * A TCP door on loopback to the real Docker engine, which a spec can shut and open
 * again: the service behind DOCKER_HOST=tcp://127.0.0.1:port sees the engine vanish
 * and come back, while the engine itself keeps running for everyone else.
 */
export class EngineProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  get dockerHost(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    const upstream = engineAddress(process.env.DOCKER_HOST);
    // Like many proxies, it does not carry a half-close (a closed write side closes the
    // whole connection): the runner must not depend on one.
    const server = createServer((client) => {
      const engine = upstream.socketPath
        ? createConnection(upstream.socketPath)
        : createConnection(upstream.port ?? 2375, upstream.host);
      for (const socket of [client, engine]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          engine.destroy();
        });
      }
      client.pipe(engine).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async shut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
