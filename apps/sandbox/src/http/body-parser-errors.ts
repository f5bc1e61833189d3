import type { ErrorRequestHandler } from 'express';
import { DomainError } from '../errors/domain-error';

/**
 * body-parser reports bad bodies as plain errors carrying `type`; Nest would turn
 * them into a bare 400. Translate them here, right after the parser, while the
 * type is still known.
 */
export const translateBodyParserErrors: ErrorRequestHandler = (
  error: unknown,
  _req,
  _res,
  next,
) => {
  next(toDomainError(error) ?? error);
};

function toDomainError(error: unknown): DomainError | null {
  if (typeof error !== 'object' || error === null || error instanceof DomainError) return null;
  // A stream error while decoding (zlib's Z_DATA_ERROR for a corrupt gzip or deflate
  // body): body-parser marks it 400 and gives it no type.
  if (!('type' in error)) {
    return 'status' in error && error.status === 400
      ? new DomainError('MALFORMED_BODY', 'The request body could not be decoded.')
      : null;
  }
  switch (error.type) {
    case 'entity.parse.failed':
      return new DomainError('MALFORMED_JSON', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new DomainError('PAYLOAD_TOO_LARGE', 'The request body is larger than allowed.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new DomainError(
        'UNSUPPORTED_MEDIA_TYPE',
        'The request body encoding is not supported.',
      );
    default:
      return null;
  }
}
