// The port is asynchronous for the Redis adapter; better-sqlite3 answers synchronously.
/* eslint-disable @typescript-eslint/require-await */
import { createWriteStream, mkdirSync } from 'node:fs';
import { open as openFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import Database from 'better-sqlite3';
import { SqliteDatabase } from '../sqlite-database';
import { ContentMeter } from './file-content';
import { isFileId, newFileId } from './file-id';
import {
  EXECUTION_FILE_GRACE_MS,
  FileStore,
  FileUsage,
  NewFile,
  StoredFile,
  UploadPage,
} from './file-store';

/** Where LocalFileStore keeps the bytes. Injection token and shape. */
export class LocalFileStoreOptions {
  /** A directory of its own (created if missing), e.g. `<database dir>/files`. */
  directory!: string;
}

/** A row of the files table (migration 8); times as epoch milliseconds. */
interface FileRow {
  id: string;
  tenant: string;
  name: string;
  size: number;
  sha256: string;
  media_type: string;
  owner_kind: 'upload' | 'execution';
  execution_id: string | null;
  created_at: number;
  expires_at: number | null;
}

const COLUMNS =
  'id, tenant, name, size, sha256, media_type, owner_kind, execution_id, created_at, expires_at';
/** A file past its expiry reads as gone, before sweep removes it. */
const UNEXPIRED = '(expires_at IS NULL OR expires_at > @now)';
/** What a save writes first, renamed to the id once whole. */
const PARTIAL = '.partial';

/**
 * Keeps files on one machine: metadata in the shared SQLite database (the files table),
 * each file's bytes in `<directory>/<id>`. A save writes `<id>.partial`, renames it once
 * whole, then inserts the row: a crash leaves a partial file or a file without a row,
 * never a row whose bytes are incomplete; sweep removes what a crash left. One process
 * per directory: sweep tells a save under way from a crash's leftovers by this
 * process's own saves.
 */
@Injectable()
export class LocalFileStore extends FileStore {
  private readonly directory: string;
  private readonly db: Database.Database;
  private readonly insertRow: Database.Statement<[FileRow]>;
  private readonly selectRow: Database.Statement<
    [{ tenant: string; id: string; now: number }],
    FileRow
  >;
  private readonly selectUploads: Database.Statement<
    [{ tenant: string; after: string | null; limit: number; now: number }],
    FileRow
  >;
  private readonly deleteRow: Database.Statement<[{ tenant: string; id: string; now: number }]>;
  private readonly selectUsage: Database.Statement<[string], FileUsage>;
  private readonly deleteExpired: Database.Statement<[number], string>;
  private readonly deleteOfGoneExecutions: Database.Statement<[number], string>;
  private readonly selectIds: Database.Statement<[], string>;
  private readonly hasRow: Database.Statement<[string], number>;
  private readonly deleteById: Database.Statement<[string]>;
  /** Ids of this process's saves under way: their bytes are not a crash's leftovers. */
  private readonly saving = new Set<string>();

  constructor(database: SqliteDatabase, options: LocalFileStoreOptions) {
    super();
    this.directory = options.directory;
    mkdirSync(this.directory, { recursive: true });
    this.db = database.connection;
    const db = this.db;
    this.insertRow = db.prepare(
      `INSERT INTO files (${COLUMNS}) VALUES (@id, @tenant, @name, @size, @sha256, @media_type,
         @owner_kind, @execution_id, @created_at, @expires_at)`,
    );
    this.selectRow = db.prepare(
      `SELECT ${COLUMNS} FROM files WHERE id = @id AND tenant = @tenant AND ${UNEXPIRED}`,
    );
    this.selectUploads = db.prepare(
      `SELECT ${COLUMNS} FROM files
       WHERE tenant = @tenant AND owner_kind = 'upload' AND (@after IS NULL OR id < @after)
         AND ${UNEXPIRED}
       ORDER BY id DESC LIMIT @limit`,
    );
    this.deleteRow = db.prepare(
      `DELETE FROM files WHERE id = @id AND tenant = @tenant AND ${UNEXPIRED}`,
    );
    // Expired ones count until sweep removes them, as in every adapter.
    this.selectUsage = db.prepare(
      `SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes FROM files
       WHERE tenant = ? AND owner_kind = 'upload'`,
    );
    this.deleteExpired = db
      .prepare<[number], string>('DELETE FROM files WHERE expires_at <= ? RETURNING id')
      .pluck();
    this.deleteOfGoneExecutions = db
      .prepare<[number], string>(
        `DELETE FROM files WHERE execution_id IS NOT NULL AND (
           EXISTS (SELECT 1 FROM executions WHERE executions.id = files.execution_id AND pruned = 1)
           OR (created_at < ? AND NOT EXISTS
             (SELECT 1 FROM executions WHERE executions.id = files.execution_id)))
         RETURNING id`,
      )
      .pluck();
    this.selectIds = db.prepare<[], string>('SELECT id FROM files').pluck();
    this.hasRow = db.prepare<[string], number>('SELECT 1 FROM files WHERE id = ?').pluck();
    this.deleteById = db.prepare('DELETE FROM files WHERE id = ?');
  }

  async save(file: NewFile): Promise<StoredFile> {
    const createdAt = new Date();
    const id = newFileId(createdAt);
    const partial = this.pathOf(id) + PARTIAL;
    const meter = new ContentMeter(file.maxBytes);
    this.saving.add(id);
    try {
      // 'wx': an id is never written twice.
      await pipeline(meter.measure(file.content), createWriteStream(partial, { flags: 'wx' }));
      await rename(partial, this.pathOf(id));
      const stored: StoredFile = {
        id,
        tenant: file.tenant,
        name: file.name,
        size: meter.size,
        sha256: meter.sha256(),
        mediaType: file.mediaType,
        owner: file.owner,
        createdAt,
        expiresAt: file.expiresAt,
      };
      this.insertRow.run(rowOf(stored));
      return stored;
    } catch (error: unknown) {
      await rm(partial, { force: true });
      await rm(this.pathOf(id), { force: true });
      throw error;
    } finally {
      this.saving.delete(id);
    }
  }

  async get(tenant: string, id: string): Promise<StoredFile | null> {
    return this.visibleRow(tenant, id);
  }

  async open(tenant: string, id: string): Promise<Readable | null> {
    if (!this.visibleRow(tenant, id)) return null;
    try {
      // Opened before it is returned: a delete from now on leaves this read whole.
      const handle = await openFile(this.pathOf(id), 'r');
      return handle.createReadStream();
    } catch (error: unknown) {
      // Deleted since the row was read.
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async listUploads(tenant: string, page: UploadPage): Promise<StoredFile[]> {
    return this.selectUploads
      .all({ tenant, after: page.after ?? null, limit: page.limit, now: Date.now() })
      .map(storedOf);
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    if (!isFileId(id)) return false;
    if (this.deleteRow.run({ tenant, id, now: Date.now() }).changes === 0) return false;
    await rm(this.pathOf(id), { force: true });
    return true;
  }

  async uploadUsage(tenant: string): Promise<FileUsage> {
    return this.selectUsage.get(tenant) as FileUsage;
  }

  /**
   * Also removes what a crash left: bytes without a row (partial or whole), and rows
   * whose bytes are missing; those rows count among the files removed.
   */
  async sweep(now: Date): Promise<number> {
    const removed = this.db.transaction(() => [
      ...this.deleteExpired.all(now.getTime()),
      ...this.deleteOfGoneExecutions.all(now.getTime() - EXECUTION_FILE_GRACE_MS),
    ])();
    // Rows first, then bytes: a crash in between leaves bytes without a row, found below.
    for (const id of removed) await rm(this.pathOf(id), { force: true });
    return removed.length + (await this.removeLeftovers());
  }

  /** Removes bytes without a row, then rows without bytes; returns how many rows. */
  private async removeLeftovers(): Promise<number> {
    // Read before the directory: a row inserted after was renamed into place before.
    const rows = this.selectIds.all();
    const names = new Set(await readdir(this.directory));
    for (const name of names) {
      const id = name.endsWith(PARTIAL) ? name.slice(0, -PARTIAL.length) : name;
      // Anything else in the directory is not this store's to remove.
      if (!isFileId(id) || this.saving.has(id)) continue;
      if (name !== id || this.hasRow.get(id) === undefined) {
        await rm(join(this.directory, name), { force: true });
      }
    }
    let removed = 0;
    for (const id of rows) {
      if (names.has(id) || (await exists(this.pathOf(id)))) continue;
      removed += this.deleteById.run(id).changes;
    }
    return removed;
  }

  private visibleRow(tenant: string, id: string): StoredFile | null {
    if (!isFileId(id)) return null;
    const row = this.selectRow.get({ tenant, id, now: Date.now() });
    return row ? storedOf(row) : null;
  }

  private pathOf(id: string): string {
    return join(this.directory, id);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error: unknown) {
    if (isMissing(error)) return false;
    throw error;
  }
}

// Not `instanceof Error`: Node's errors come from another realm under Jest.
function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

function rowOf(file: StoredFile): FileRow {
  return {
    id: file.id,
    tenant: file.tenant,
    name: file.name,
    size: file.size,
    sha256: file.sha256,
    media_type: file.mediaType,
    owner_kind: file.owner.kind,
    execution_id: file.owner.kind === 'execution' ? file.owner.executionId : null,
    created_at: file.createdAt.getTime(),
    expires_at: file.expiresAt?.getTime() ?? null,
  };
}

function storedOf(row: FileRow): StoredFile {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    size: row.size,
    sha256: row.sha256,
    mediaType: row.media_type,
    owner:
      row.execution_id === null
        ? { kind: 'upload' }
        : { kind: 'execution', executionId: row.execution_id },
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  };
}
