import type { Readable } from 'node:stream';

/** Who a file belongs to: the tenant's uploads, or the files of one execution. */
export type FileOwner =
  { readonly kind: 'upload' } | { readonly kind: 'execution'; readonly executionId: string };

export interface StoredFile {
  /** See newFileId: unguessable, and in creation order. */
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  /** In bytes. */
  readonly size: number;
  /** Of the content, in lower-case hex. */
  readonly sha256: string;
  readonly mediaType: string;
  readonly owner: FileOwner;
  /** When its save began (the time in its id). */
  readonly createdAt: Date;
  /** From then on it reads as gone, and sweep removes it; null: kept until deleted. */
  readonly expiresAt: Date | null;
}

export interface NewFile {
  readonly tenant: string;
  readonly name: string;
  readonly mediaType: string;
  readonly owner: FileOwner;
  /** Read once, as fast as the store writes it. */
  readonly content: AsyncIterable<Buffer> | NodeJS.ReadableStream;
  /** Content past this many bytes rejects the save. */
  readonly maxBytes: number;
  readonly expiresAt: Date | null;
}

export interface UploadPage {
  readonly limit: number;
  /** The id of the last file of the previous page (it need not exist any more). */
  readonly after?: string;
}

export interface FileUsage {
  readonly count: number;
  readonly bytes: number;
}

/** A save's content went past its maxBytes: nothing of it was kept. */
export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The file is larger than ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/**
 * Where files live: their bytes and what is known of them. Port: adapters hold data, not
 * decisions (quotas, retention times and who may read what are the caller's). Every
 * read is one tenant's: another tenant's file answers as an unknown one. A file past its
 * expiresAt reads as gone at once, though it is removed, and stops counting in
 * uploadUsage, only when sweep runs.
 */
/** How long the files of an execution without a record are kept: its admission may be under way. */
export const EXECUTION_FILE_GRACE_MS = 60 * 60 * 1000;

export abstract class FileStore {
  /**
   * Streams `content` into storage, computing its size and sha256 as it goes, never
   * holding it whole. Past `maxBytes` it rejects with FileTooLargeError, and a failing
   * `content` with its error; either way nothing is kept, and `content` is left
   * destroyed (not read to its end).
   */
  abstract save(file: NewFile): Promise<StoredFile>;
  /** The file's metadata; null when unknown, expired, or another tenant's. */
  abstract get(tenant: string, id: string): Promise<StoredFile | null>;
  /** The file's bytes, read as the stream is consumed; null as for get. */
  abstract open(tenant: string, id: string): Promise<Readable | null>;
  /**
   * The tenant's uploads (never execution files), by id descending: newest first,
   * files created in the same millisecond in any order.
   */
  abstract listUploads(tenant: string, page: UploadPage): Promise<StoredFile[]>;
  /** True once deleted; false when get would answer null. */
  abstract delete(tenant: string, id: string): Promise<boolean>;
  /** How many uploads (not execution files) the tenant has, and their bytes. */
  abstract uploadUsage(tenant: string): Promise<FileUsage>;
  /**
   * Removes the files expired at `now`, the files of executions whose record is gone if
   * they were saved before `now` minus EXECUTION_FILE_GRACE_MS (an execution's files may
   * be saved just before its record is created), and in SQLite the files of executions
   * whose bulky fields were pruned. Returns how many.
   */
  abstract sweep(now: Date): Promise<number>;
}
