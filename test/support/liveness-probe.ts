import { type OutgoingHttpHeaders, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LivenessFigures {
  /** Slowest GET /health/live answer while the probe ran, in ms. */
  readonly maxLatencyMs: number;
  readonly probes: number;
  /** Longest event-loop stall this process saw, in ms (client and service share it). */
  readonly maxLoopDelayMs: number;
  /** Highest RSS this process reached, in bytes. */
  readonly peakRssBytes: number;
}

/**
 * Asks GET /health/live every `everyMs` and samples the RSS, until stopped: what a
 * Kubernetes probe would have seen while a spec attacks the service.
 */
export function startLivenessProbe(baseUrl: string, everyMs = 20): () => Promise<LivenessFigures> {
  let maxLatencyMs = 0;
  let probes = 0;
  let peakRssBytes = process.memoryUsage().rss;
  let stopped = false;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  const probeOnce = () =>
    new Promise<void>((resolve) => {
      const sentAt = performance.now();
      const req = request(`${baseUrl}/health/live`, (response) => {
        response.resume();
        response.once('end', () => {
          maxLatencyMs = Math.max(maxLatencyMs, performance.now() - sentAt);
          probes += 1;
          resolve();
        });
      });
      req.once('error', () => resolve());
      req.end();
    });

  const loop = (async () => {
    while (!stopped) {
      await probeOnce();
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();

  return async () => {
    stopped = true;
    await loop;
    loopDelay.disable();
    return {
      maxLatencyMs,
      probes,
      maxLoopDelayMs: loopDelay.max / 1e6,
      peakRssBytes,
    };
  };
}

/** An answer read whole: status, body as text, headers. */
export interface RawAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, unknown>;
}

/** One request shaped as a hostile client would: any method, repeated headers (arrays), any body. */
export function sendRaw(
  url: string,
  method: string,
  headers: OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: response.headers,
        }),
      );
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** POSTs a prepared JSON body (sent as is, never re-serialized) and returns status and body. */
export function postRaw(url: string, body: Buffer): Promise<RawAnswer> {
  return sendRaw(
    url,
    'POST',
    { 'content-type': 'application/json', 'content-length': body.length },
    body,
  );
}
