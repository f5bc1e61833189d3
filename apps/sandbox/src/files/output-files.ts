import { Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { lookup } from 'mime-types';
import type { RunOutcome } from '@brain-net/runner';
import {
  ExecutionFigure,
  ExecutionFigures,
  ExecutionRecord,
  FileStore,
  OutputFile,
  OutputFiles,
} from '@brain-net/store';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';
import { fromFileStore } from './from-file-store';

/** How many omitted files a record names; the rest are only counted. */
const MAX_NAMED_OMITTED = 100;

type FigureImage = NonNullable<ExecutionFigure['image']>;

/** What a figure's PNG is served as. */
export const FIGURE_MEDIA_TYPE = 'image/png';

/**
 * Keeps the files a run left under `out/`, and its figures, as the execution's own:
 * stored one by one, media type from the name, sha256 as the store computed it. A file
 * the store refuses is listed as omitted, a figure gets an error: the run's result never
 * fails for either.
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
        const stored = await this.save(data, { tenant, executionId, name: path, mediaType });
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

  /** The figures of a run, each PNG stored; one the store refuses keeps its place with an error. */
  async keepFigures(
    outcome: NonNullable<RunOutcome['figures']>,
    tenant: string,
    executionId: string,
  ): Promise<ExecutionFigures> {
    const figures: ExecutionFigure[] = [];
    for (const { index, title, png, error } of outcome.figures) {
      if (png === null) {
        figures.push({ index, title, image: null, error });
        continue;
      }
      const name = `figure-${index}.png`;
      try {
        const stored = await this.save(png.data, {
          tenant,
          executionId,
          name,
          mediaType: FIGURE_MEDIA_TYPE,
        });
        const { width, height } = png;
        const image = {
          width,
          height,
          size: stored.size,
          sha256: stored.sha256,
          fileId: stored.id,
        };
        figures.push({ index, title, image, error: null });
      } catch (failure: unknown) {
        this.logger.warn(`execution ${executionId}: cannot keep ${name}: ${errorMessage(failure)}`);
        figures.push({ index, title, image: null, error: 'it could not be stored' });
      }
    }
    return { figures, omittedCount: outcome.omittedCount };
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

  /**
   * A figure's stored PNG, by the figure's index as the path gives it (digits, or it names
   * none); FILE_NOT_FOUND if none, not rendered, or pruned since.
   */
  async openFigure(
    record: ExecutionRecord,
    index: string,
  ): Promise<[FigureImage, NodeJS.ReadableStream]> {
    const figure = record.figures?.figures.find((candidate) => String(candidate.index) === index);
    const image = figure?.image;
    const content =
      image && (await fromFileStore(() => this.files.open(record.tenant, image.fileId)));
    if (!image || !content) {
      const why = !figure ? '' : image ? ' any more (pruned)' : ` image: ${figure.error}`;
      throw new DomainError(
        'FILE_NOT_FOUND',
        `Execution ${record.id} has no figure ${index}${why}.`,
      );
    }
    return [image, content];
  }

  private save(
    data: Buffer,
    file: { tenant: string; executionId: string; name: string; mediaType: string },
  ) {
    return this.files.save({
      tenant: file.tenant,
      name: file.name,
      mediaType: file.mediaType,
      owner: { kind: 'execution', executionId: file.executionId },
      content: Readable.from([data]),
      maxBytes: data.length,
      expiresAt: null,
    });
  }
}
