import { createServer } from 'node:net';

/**
 * A port the kernel just handed out on 127.0.0.1, for a server that must be told its
 * port (redis-server cannot take port 0).
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('No port was assigned.'))));
    });
  });
}
