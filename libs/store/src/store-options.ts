/** Where durable records are kept. Injection token and shape. */
export abstract class StoreOptions {
  /** Path of the SQLite file (its directory is created if missing), or `:memory:`. */
  abstract readonly databasePath: string;
  /** Finished executions kept; the oldest beyond it are dropped. */
  abstract readonly executionHistoryLimit: number;
}
