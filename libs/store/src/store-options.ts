/** Where durable records are kept. Injection token and shape. */
export abstract class StoreOptions {
  /** Path of the SQLite file (its directory is created if missing), or `:memory:`. */
  abstract readonly databasePath: string;
  /** Finished executions kept; the oldest beyond it are dropped. */
  abstract readonly executionHistoryLimit: number;
  /**
   * Budget (STORE_MAX_MB) for the bulky fields of executions: code, input, stdout,
   * stderr, exceptions and variables, counted in UTF-8 bytes. Past it the oldest
   * finished executions lose them (status, times and exit code stay); unfinished
   * executions never do, so their inputs alone may hold the total above it.
   *
   * Disk use of DATABASE_PATH, at most about:
   * - bulky data: max(STORE_MAX_MB, inputs of the unfinished executions), plus the
   *   largest single record while it is written (pruning follows each write);
   * - rows: ~1 KiB per kept execution (EXECUTION_HISTORY_LIMIT + unfinished ones) for
   *   its columns and indexes, plus up to ~4 KiB of page slack per unpruned one;
   * - the adjustments table (~0.5 KiB per adjustment);
   * - `-wal` file: 32 MiB once checkpointed; during one bigger transaction, that
   *   transaction's size (one record; at the first start after an upgrade from the
   *   JSON-blob release, the whole old file, once).
   * E.g. STORE_MAX_MB=1024, EXECUTION_HISTORY_LIMIT=1000, default request and output
   * limits: ~1024 + 5 + 7 (one record) ≈ 1036 MiB of file, plus 32 MiB of log.
   * Files created by this release (incremental auto-vacuum) give freed pages back at
   * start-up, e.g. after the budget was lowered; in between, freed pages are reused, so
   * the file stays at its high-water mark, itself bounded as above. A file from the
   * JSON-blob release keeps its old size (its free pages are reused) until an offline
   * `PRAGMA auto_vacuum = INCREMENTAL; VACUUM;`.
   */
  abstract readonly maxStoreBytes: number;
}
