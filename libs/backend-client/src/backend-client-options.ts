/** Where the main backend is and how long to wait for it. Injection token and shape. */
export abstract class BackendClientOptions {
  /** Base URL without a trailing slash, e.g. `http://backend:8000`. */
  abstract readonly baseUrl: string;
  /** Timeout of each call, in milliseconds. */
  abstract readonly timeoutMs: number;
  /** Path of a processor's definition; `{processor_id}` is filled in. */
  abstract readonly processorPath: string;
  /** Path adjustments are posted to; `{processor_id}` is filled in. */
  abstract readonly adjustmentPath: string;
  /** The service's own bearer token (BACKEND_TOKEN), for calls made on no caller's behalf. */
  abstract readonly serviceToken: string | null;
}
