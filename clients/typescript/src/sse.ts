/** One Server-Sent Events message: its event name, the last id seen, its data lines joined. */
export interface SseMessage {
  readonly event: string;
  readonly id: string | null;
  readonly data: string;
}

/** The messages of an event stream's body, as the WHATWG format defines them. */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffered = '';
  let event = '';
  let data: string[] = [];
  let lastId: string | null = null;
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split(/\r\n|\r|\n/);
    // The last piece may be a line still being written.
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        // A blank line ends a message; one without data is no message.
        if (data.length > 0) yield { event: event || 'message', id: lastId, data: data.join('\n') };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue; // a comment: the service's keep-alive
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') event = value;
      else if (name === 'data') data.push(value);
      else if (name === 'id' && !value.includes('\0')) lastId = value;
    }
  }
}
