import { Injectable } from '@nestjs/common';
import { FileStore, FileTooLargeError, StoredFile } from '@brain-net/store';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { fromFileStore } from './from-file-store';
import type { UploadBody } from './upload-body';

/**
 * Files a tenant uploads once and names in many requests (`files[].file_id`): each at
 * most MAX_UPLOAD_MB, a tenant's together within FILE_QUOTA_MB and FILE_QUOTA_COUNT,
 * each kept FILE_RETENTION_HOURS. Another tenant's upload is as unknown as a missing one.
 */
@Injectable()
export class Uploads {
  constructor(
    private readonly config: AppConfig,
    private readonly files: FileStore,
  ) {}

  /**
   * Streams the body into the store, refused whole (nothing kept) past the size limit
   * or the quota. Uploads of one tenant under way at once may each pass the quota check
   * on its own: the quota can be exceeded by at most what they hold together.
   */
  async save(tenant: string, body: UploadBody, declaredBytes: number | null): Promise<StoredFile> {
    const { maxUploadBytes, quotaBytes, quotaCount, retentionMs } = this.config.files;
    const usage = await fromFileStore(() => this.files.uploadUsage(tenant));
    const quotaLeft = quotaBytes - usage.bytes;
    if (usage.count >= quotaCount) {
      throw quotaExceeded(`tenant ${tenant} keeps ${usage.count} uploads, its limit`);
    }
    if (declaredBytes !== null) this.refuseSize(declaredBytes, quotaLeft, tenant);
    // A FileTooLargeError becomes the refusal it stands for; other failures are a 503.
    return fromFileStore(async () => {
      try {
        return await this.files.save({
          tenant,
          name: body.name,
          mediaType: body.mediaType,
          owner: { kind: 'upload' },
          content: body.content,
          maxBytes: Math.min(maxUploadBytes, quotaLeft),
          expiresAt: new Date(Date.now() + retentionMs),
        });
      } catch (error: unknown) {
        if (error instanceof FileTooLargeError) {
          this.refuseSize(error.maxBytes + 1, quotaLeft, tenant);
        }
        throw error;
      }
    });
  }

  async get(tenant: string, id: string): Promise<StoredFile> {
    const file = await fromFileStore(() => this.files.get(tenant, id));
    if (file?.owner.kind !== 'upload') throw fileNotFound(id);
    return file;
  }

  /** Its bytes, streamed from the store. */
  async open(tenant: string, id: string): Promise<[StoredFile, NodeJS.ReadableStream]> {
    const file = await this.get(tenant, id);
    const content = await fromFileStore(() => this.files.open(tenant, id));
    if (!content) throw fileNotFound(id);
    return [file, content];
  }

  list(tenant: string, limit: number, after?: string): Promise<StoredFile[]> {
    return fromFileStore(() =>
      this.files.listUploads(tenant, { limit, ...(after !== undefined && { after }) }),
    );
  }

  async delete(tenant: string, id: string): Promise<void> {
    await this.get(tenant, id);
    if (!(await fromFileStore(() => this.files.delete(tenant, id)))) throw fileNotFound(id);
  }

  private refuseSize(bytes: number, quotaLeft: number, tenant: string): void {
    const max = this.config.files.maxUploadBytes;
    if (bytes > max) {
      throw new DomainError('UPLOAD_TOO_LARGE', `The upload is over ${max} bytes, the limit.`);
    }
    if (bytes > quotaLeft) {
      throw quotaExceeded(`tenant ${tenant} has ${Math.max(0, quotaLeft)} bytes of its quota left`);
    }
  }
}

export function fileNotFound(id: string): DomainError {
  return new DomainError('FILE_NOT_FOUND', `No file has the id ${id}.`);
}

function quotaExceeded(why: string): DomainError {
  return new DomainError('FILE_QUOTA_EXCEEDED', `The upload is refused: ${why}.`);
}
