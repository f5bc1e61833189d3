/** An error's message, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error's stack for the log, whatever was thrown. */
export function stackOf(error: unknown): unknown {
  return error instanceof Error ? error.stack : error;
}
