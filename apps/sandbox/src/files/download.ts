import { Readable } from 'node:stream';
import { StreamableFile } from '@nestjs/common';

/**
 * A stored file as an attachment. Never shown inline: what the code wrote is the
 * caller's data, not a page of this service's origin.
 */
export function downloadOf(
  content: NodeJS.ReadableStream,
  file: { readonly name: string; readonly size: number; readonly mediaType: string },
): StreamableFile {
  const baseName = file.name.split('/').pop() ?? file.name;
  return new StreamableFile(Readable.from(content), {
    type: file.mediaType,
    length: file.size,
    disposition: `attachment; filename*=UTF-8''${encodeURIComponent(baseName)}`,
  });
}
