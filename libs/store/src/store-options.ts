/** Where durable records are kept. Injection token and shape. */
export abstract class StoreOptions {
  /** Path of the SQLite file (its directory is created if missing), or `:memory:`. */
  abstract readonly databasePath: string;
}
