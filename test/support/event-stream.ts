/** One server-sent event as a client receives it. */
export interface ReceivedEvent {
  readonly event: string;
  /** The event's `id:` field, null when it had none. */
  readonly id: string | null;
  readonly data: unknown;
  readonly receivedAt: number;
}

/**
 * Reads a text/event-stream to its end with fetch, noting when each event arrived,
 * so a spec can tell live delivery from a buffered dump.
 */
export async function readEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<ReceivedEvent[]> {
  return (await openEventStream(url, headers)).events;
}

/**
 * Reads a text/event-stream until `enough` holds for the events so far, then leaves
 * (aborts the request) as a client whose connection dropped, and gives what it had.
 */
export async function readEventStreamUntil(
  url: string,
  enough: (events: readonly ReceivedEvent[]) => boolean,
  headers: Record<string, string> = {},
): Promise<ReceivedEvent[]> {
  const leave = new AbortController();
  const response = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...headers },
    signal: leave.signal,
  });
  if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
  const events: ReceivedEvent[] = [];
  try {
    await readEvents(response.body, (event) => {
      if (leave.signal.aborted) return; // arrived in the same chunk, after the last wanted
      events.push(event);
      if (enough(events)) leave.abort();
    });
  } catch (error: unknown) {
    if (!leave.signal.aborted) throw error;
  }
  return events;
}

/**
 * Opens a text/event-stream and resolves once its headers are in (the server has
 * subscribed the client), with `events`: all of them, once the stream has ended.
 */
export async function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ readonly events: Promise<ReceivedEvent[]> }> {
  const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers } });
  if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
  return { events: readEvents(response.body) };
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: ReceivedEvent) => void = () => undefined,
): Promise<ReceivedEvent[]> {
  const events: ReceivedEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary = buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event = parseBlock(block);
      if (event) {
        events.push(event);
        onEvent(event);
      }
      boundary = buffer.indexOf('\n\n');
    }
  }
  return events;
}

function parseBlock(block: string): ReceivedEvent | null {
  let event = 'message';
  let id: string | null = null;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('id:')) id = line.slice(3).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return null; // a comment (keep-alive) or a blank line
  return { event, id, data: JSON.parse(data.join('\n')) as unknown, receivedAt: Date.now() };
}
