import { randomBytes } from 'node:crypto';

// Crockford's base32 in lower case: its characters sort as the values they stand for.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_CHARS = 10;
const RANDOM_CHARS = 24;
const FILE_ID = new RegExp(`^file_[${ALPHABET}]{${TIME_CHARS + RANDOM_CHARS}}$`);

/**
 * `file_`, the creation time (ms) in 10 characters, then 120 random bits in 24: ids sort
 * in creation order, so a listing pages by id (a cursor stays valid once its file is
 * gone), and none can be guessed from another.
 */
export function newFileId(createdAt: Date): string {
  // 256 is a multiple of 32: each byte's low 5 bits are uniformly random.
  const random = Array.from(randomBytes(RANDOM_CHARS), (byte) => ALPHABET[byte & 31]).join('');
  return `${fileIdPrefix(createdAt)}${random}`;
}

/** What every id made at `createdAt` starts with; ids made earlier sort below it. */
export function fileIdPrefix(createdAt: Date): string {
  let time = '';
  for (let ms = createdAt.getTime(), i = 0; i < TIME_CHARS; i++, ms = Math.floor(ms / 32)) {
    time = ALPHABET[ms % 32] + time;
  }
  return `file_${time}`;
}

/**
 * Whether `id` can name a file. Adapters answer anything else as unknown without a read:
 * ids become file names and key names, so `../x` or `<id>:0` must never reach them.
 */
export function isFileId(id: string): boolean {
  return FILE_ID.test(id);
}
