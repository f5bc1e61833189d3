import { Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { lookup } from 'mime-types';
import type { RunOutcome } from '@brain-net/runner';
import { ExecutionRecord, FileStore, OutputFile, OutputFiles } from '@brain-net/store';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';
import { fromFileStore } from './from-file-store';

/** How many omitted files a record names; the rest are only counted. */
const MAX_NAMED_OMITTED = 100;

/**
 * Keeps the files a run left under `out/` as the execution's own: stored one by one,
 * media type from the name, sha256 as the store computed it. A file the store refuses
 * is listed as omitted: the run's result never fails for it.
 */
@Injectable()
export class OutputFileKeeper {
  private readonly logger = new Logger(OutputFileKeeper.name);

  constructor(private readonly files: FileStore) {}

  async keep(
    outcome: NonNullable<RunOutcome['outputFiles']>,
    tenant: string,
    executionId: string,
  ): Promise<OutputFiles> {
    const kept: OutputFile[] = [];
    const omitted = [...outcome.omitted];
    let omittedCount = outcome.omittedCount;
    for (const { path, data } of outcome.files) {
      const mediaType = lookup(path) || 'application/octet-stream';
      try {
        const stored = await this.files.save({
          tenant,
          name: path,
          mediaType,
          owner: { kind: 'execution', executionId },
          content: Readable.from([data]),
          maxBytes: data.length,
          expiresAt: null,
        });
        kept.push({ path, size: stored.size, mediaType, sha256: stored.sha256, fileId: stored.id });
      } catch (error: unknown) {
        this.logger.warn(
          `execution ${executionId}: cannot keep out/${path}: ${errorMessage(error)}`,
        );
        omitted.push({ path, size: data.length });
        omittedCount += 1;
      }
    }
    return { files: kept, omitted: omitted.slice(0, MAX_NAMED_OMITTED), omittedCount };
  }

  /** A file the execution's code wrote, as `out/<path>`; FILE_NOT_FOUND if none or pruned since. */
  async open(record: ExecutionRecord, path: string): Promise<[OutputFile, NodeJS.ReadableStream]> {
    const file = record.outputFiles?.files.find((candidate) => candidate.path === path);
    const content =
      file && (await fromFileStore(() => this.files.open(record.tenant, file.fileId)));
    if (!file || !content) {
      throw new DomainError(
        'FILE_NOT_FOUND',
        `Execution ${record.id} has no file out/${path}${file ? ' any more (pruned)' : ''}.`,
      );
    }
    return [file, content];
  }
}
