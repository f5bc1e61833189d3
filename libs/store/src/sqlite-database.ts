import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import Database from 'better-sqlite3';
import { StoreOptions } from './store-options';

const IN_MEMORY = ':memory:';

/** The one SQLite connection the stores share (one file, or one in-memory database). */
@Injectable()
export class SqliteDatabase implements OnApplicationShutdown {
  readonly connection: Database.Database;

  constructor(options: StoreOptions) {
    if (options.databasePath !== IN_MEMORY) {
      mkdirSync(dirname(options.databasePath), { recursive: true });
    }
    this.connection = new Database(options.databasePath);
    // Readers never wait for the writer, and each commit is one append to the log.
    this.connection.pragma('journal_mode = WAL');
  }

  /**
   * Not onModuleDestroy: the HTTP server and the background workers still write during
   * module destruction. Global modules (the store's) shut down last.
   */
  onApplicationShutdown(): void {
    this.connection.close();
  }
}
