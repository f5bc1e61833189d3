/** One server-sent event as a client receives it. */
export interface ReceivedEvent {
  readonly event: string;
  readonly data: unknown;
  readonly receivedAt: number;
}

/**
 * Reads a text/event-stream to its end with fetch, noting when each event arrived,
 * so a spec can tell live delivery from a buffered dump.
 */
export async function readEventStream(url: string): Promise<ReceivedEvent[]> {
  return (await openEventStream(url)).events;
}

/**
 * Opens a text/event-stream and resolves once its headers are in (the server has
 * subscribed the client), with `events`: all of them, once the stream has ended.
 */
export async function openEventStream(
  url: string,
): Promise<{ readonly events: Promise<ReceivedEvent[]> }> {
  const response = await fetch(url, { headers: { Accept: 'text/event-stream' } });
  if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
  return { events: readEvents(response.body) };
}

async function readEvents(body: ReadableStream<Uint8Array>): Promise<ReceivedEvent[]> {
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
      if (event) events.push(event);
      boundary = buffer.indexOf('\n\n');
    }
  }
  return events;
}

function parseBlock(block: string): ReceivedEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return null;
  return { event, data: JSON.parse(data.join('\n')) as unknown, receivedAt: Date.now() };
}
