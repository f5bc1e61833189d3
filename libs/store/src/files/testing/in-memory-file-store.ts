import { Readable } from 'node:stream';
import { ContentMeter } from '../file-content';
import { isFileId, newFileId } from '../file-id';
import {
  EXECUTION_FILE_GRACE_MS,
  FileStore,
  FileUsage,
  NewFile,
  StoredFile,
  UploadPage,
} from '../file-store';

/**
 * A FileStore in a Map, for the app's unit specs: it passes the same contract as the
 * real adapters. `executionExists` stands for the ExecutionStore beside it (the sweep
 * asks it which executions still have a record).
 */
export class InMemoryFileStore extends FileStore {
  private readonly files = new Map<string, { file: StoredFile; bytes: Buffer }>();

  constructor(private readonly executionExists: (id: string) => boolean = () => true) {
    super();
  }

  /** How many files it holds, expired ones included until swept. */
  get count(): number {
    return this.files.size;
  }

  async save(file: NewFile): Promise<StoredFile> {
    const meter = new ContentMeter(file.maxBytes);
    const pieces: Buffer[] = [];
    for await (const piece of meter.measure(file.content)) pieces.push(piece);
    const createdAt = new Date();
    const stored: StoredFile = {
      id: newFileId(createdAt),
      tenant: file.tenant,
      name: file.name,
      size: meter.size,
      sha256: meter.sha256(),
      mediaType: file.mediaType,
      owner: file.owner,
      createdAt,
      expiresAt: file.expiresAt,
    };
    this.files.set(stored.id, { file: stored, bytes: Buffer.concat(pieces) });
    return stored;
  }

  get(tenant: string, id: string): Promise<StoredFile | null> {
    return Promise.resolve(this.visible(tenant, id)?.file ?? null);
  }

  open(tenant: string, id: string): Promise<Readable | null> {
    const entry = this.visible(tenant, id);
    return Promise.resolve(entry ? Readable.from([entry.bytes]) : null);
  }

  listUploads(tenant: string, page: UploadPage): Promise<StoredFile[]> {
    const listed = [...this.files.keys()]
      .sort()
      .reverse()
      .filter((id) => page.after === undefined || id < page.after)
      .map((id) => this.visible(tenant, id)?.file)
      .filter((file): file is StoredFile => file?.owner.kind === 'upload')
      .slice(0, page.limit);
    return Promise.resolve(listed);
  }

  delete(tenant: string, id: string): Promise<boolean> {
    return Promise.resolve(this.visible(tenant, id) !== null && this.files.delete(id));
  }

  uploadUsage(tenant: string): Promise<FileUsage> {
    const uploads = [...this.files.values()].filter(
      ({ file }) => file.tenant === tenant && file.owner.kind === 'upload',
    );
    const bytes = uploads.reduce((sum, { file }) => sum + file.size, 0);
    return Promise.resolve({ count: uploads.length, bytes });
  }

  sweep(now: Date): Promise<number> {
    const cutoff = now.getTime() - EXECUTION_FILE_GRACE_MS;
    let removed = 0;
    for (const [id, { file }] of this.files) {
      const expired = file.expiresAt !== null && file.expiresAt <= now;
      const orphaned =
        file.owner.kind === 'execution' &&
        file.createdAt.getTime() < cutoff &&
        !this.executionExists(file.owner.executionId);
      if (expired || orphaned) removed += Number(this.files.delete(id));
    }
    return Promise.resolve(removed);
  }

  private visible(tenant: string, id: string): { file: StoredFile; bytes: Buffer } | null {
    const entry = isFileId(id) ? this.files.get(id) : undefined;
    if (!entry || entry.file.tenant !== tenant) return null;
    const expired = entry.file.expiresAt !== null && entry.file.expiresAt.getTime() <= Date.now();
    return expired ? null : entry;
  }
}
