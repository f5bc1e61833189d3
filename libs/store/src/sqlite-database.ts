import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Injectable } from '@nestjs/common';
import Database from 'better-sqlite3';
import { migrate } from './migrations';
import { StoreOptions } from './store-options';

const IN_MEMORY = ':memory:';

// The log is cut back to this once checkpointed; one bigger transaction grows it past.
const WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * The one SQLite connection the stores share (one file, or one in-memory database),
 * brought to the current schema when it opens.
 */
@Injectable()
export class SqliteDatabase {
  readonly connection: Database.Database;

  constructor(options: StoreOptions) {
    if (options.databasePath !== IN_MEMORY) {
      mkdirSync(dirname(options.databasePath), { recursive: true });
    }
    this.connection = new Database(options.databasePath);
    try {
      // Must come before WAL and the first table: only a new file takes it (an older
      // file keeps its mode until an offline VACUUM, and reuses its free pages instead).
      this.connection.pragma('auto_vacuum = INCREMENTAL');
      // Readers never wait for the writer, and each commit is one append to the log.
      this.connection.pragma('journal_mode = WAL');
      this.connection.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      // No fsync per commit (the log is synced at checkpoints): a crash of the process
      // loses nothing, a crash of the machine at most the last commits, never the
      // file's consistency. FULL's fsync cost ~1 ms of CPU per execution (three commits).
      this.connection.pragma('synchronous = NORMAL');
      // Deleting an execution deletes its payload row (ON DELETE CASCADE).
      this.connection.pragma('foreign_keys = ON');
      migrate(this.connection);
    } catch (error: unknown) {
      this.connection.close();
      throw error;
    }
  }

  /**
   * Hands free pages back to the file system (files created with INCREMENTAL
   * auto-vacuum; a no-op on older ones) and empties the log, so the file shrinks now.
   */
  releaseFreePages(): void {
    this.connection.pragma('incremental_vacuum');
    this.connection.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** The last step of the shutdown (the service's ServiceLifecycle), once nothing writes. */
  close(): void {
    if (this.connection.open) this.connection.close();
  }
}
