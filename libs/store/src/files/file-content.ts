import { createHash } from 'node:crypto';
import { FileTooLargeError, NewFile } from './file-store';

/** Counts and hashes content as it passes; see measure. */
export class ContentMeter {
  private bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {}

  /**
   * The pieces of `content` as they come, counted and hashed. Throws FileTooLargeError
   * before yielding the piece that goes past maxBytes, so none of it is stored.
   */
  async *measure(content: NewFile['content']): AsyncGenerator<Buffer> {
    for await (const piece of content) {
      // A ReadableStream with an encoding set yields strings.
      const buffer = typeof piece === 'string' ? Buffer.from(piece) : piece;
      this.bytes += buffer.length;
      if (this.bytes > this.maxBytes) throw new FileTooLargeError(this.maxBytes);
      this.hash.update(buffer);
      yield buffer;
    }
  }

  /** Once measure is done. */
  get size(): number {
    return this.bytes;
  }

  /** Once measure is done; once only. */
  sha256(): string {
    return this.hash.digest('hex');
  }
}

/** `pieces` regrouped into chunks of `chunkBytes`, the last one shorter (none if empty). */
export async function* chunked(
  pieces: AsyncIterable<Buffer>,
  chunkBytes: number,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of pieces) {
    let rest = piece;
    while (pendingBytes + rest.length >= chunkBytes) {
      const taken = chunkBytes - pendingBytes;
      pending.push(rest.subarray(0, taken));
      yield Buffer.concat(pending, chunkBytes);
      rest = rest.subarray(taken);
      pending = [];
      pendingBytes = 0;
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
