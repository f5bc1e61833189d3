import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { lookup } from 'mime-types';
import { DomainError } from '../errors/domain-error';

/** What an upload request carries: one file, streamed, never held whole. */
export interface UploadBody {
  readonly name: string;
  readonly mediaType: string;
  readonly content: Readable;
}

const GENERIC_MEDIA_TYPE = 'application/octet-stream';

/**
 * The file of a `POST /files`: the body itself (named by `?name=`), or the first file
 * part of a `multipart/form-data` body (named by its own filename); the parts before it
 * are skipped, those after it never read.
 */
export function uploadBodyOf(request: Request, nameFromQuery?: string): Promise<UploadBody> {
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
    const name = nameFromQuery ?? 'upload';
    return Promise.resolve({ name, mediaType: mediaTypeOf(name, contentType), content: request });
  }
  return new Promise<UploadBody>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: request.headers, limits: { files: 1, fields: 20, parts: 21 } });
    } catch (error: unknown) {
      reject(malformed(error));
      return;
    }
    parser.on('file', (_field, content, info) => {
      const name = info.filename || nameFromQuery || 'upload';
      resolve({ name, mediaType: mediaTypeOf(name, info.mimeType), content });
    });
    parser.on('error', (error: unknown) => reject(malformed(error)));
    // Settles nothing once a file was found (the promise is settled then).
    parser.on('close', () =>
      reject(new DomainError('VALIDATION_FAILED', 'The multipart body has no file part.')),
    );
    request.pipe(parser);
  });
}

/** The type the client declared, unless generic; else the one its name suggests. */
function mediaTypeOf(name: string, declared: string): string {
  const type = declared.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== '' && type !== GENERIC_MEDIA_TYPE) return type;
  return lookup(name) || GENERIC_MEDIA_TYPE;
}

function malformed(error: unknown): DomainError {
  const reason = error instanceof Error ? error.message : String(error);
  return new DomainError('MALFORMED_BODY', `The multipart body cannot be read: ${reason}`);
}
