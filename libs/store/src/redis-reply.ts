import { z } from 'zod';

/**
 * `reply` as `schema` reads it. A reply of another shape throws, naming `source` (the
 * key or script it came from), rather than flowing on mistyped.
 */
export function parseRedisReply<Schema extends z.ZodType>(
  schema: Schema,
  reply: unknown,
  source: string,
): z.output<Schema> {
  const parsed = schema.safeParse(reply);
  if (!parsed.success) {
    throw new Error(`Unexpected Redis reply from ${source}: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** A string of JSON text whose value `schema` reads: what Redis keeps as JSON. */
export function jsonText<Schema extends z.ZodType>(
  schema: Schema,
): z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<unknown, string>>, Schema> {
  return z
    .string()
    .transform((text, context): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        context.addIssue({ code: 'custom', message: 'Not JSON text' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}
