import { z } from 'zod';
import { DomainError } from '../errors/domain-error';
import { INPUT_FILE_ENCODINGS } from '../files/dto/input-file.dto';
import { RawJson } from '../http/json-body';
import { JsonTooDeepError, scanJson } from '../http/json-scan';
import type { ToolDescriptions } from './tool-descriptions';

/**
 * The arguments of run_python: a subset of POST /execute's body, under the same names.
 * These schemas give the model the shapes (types, required, no unknown field); the
 * limits are ExecuteRequestDto's and ExecutionAdmission's alone, applied after them, so
 * the two doors cannot disagree on what they accept.
 */
export function runPythonInputSchema(fields: ToolDescriptions['runPythonFields']) {
  return z.strictObject({
    code: z.string().describe(fields.code),
    input_data: z.record(z.string(), z.unknown()).optional().describe(fields.input_data),
    stdin: z.string().optional().describe(fields.stdin),
    files: z
      .array(
        z.strictObject({
          path: z.string(),
          content: z.string().optional(),
          encoding: z.enum(INPUT_FILE_ENCODINGS).optional(),
          file_id: z.string().optional(),
        }),
      )
      .optional()
      .describe(fields.files),
    runtime: z.string().optional().describe(fields.runtime),
    timeout: z.int().optional().describe(fields.timeout),
  });
}

export type RunPythonInput = z.infer<ReturnType<typeof runPythonInputSchema>>;

/** The arguments as the body POST /execute would have parsed into, before its validation. */
export async function executeBodyOf(
  input: RunPythonInput,
  maxInputDepth: number,
): Promise<Record<string, unknown>> {
  const { input_data: inputData, ...rest } = input;
  return inputData === undefined
    ? rest
    : { ...rest, input_data: await rawJsonOf(inputData, maxInputDepth) };
}

/**
 * input_data as POST /execute keeps it: JSON text, checked for depth by the same walk.
 * The transport has parsed it already; its text is written again (its spacing is lost).
 */
async function rawJsonOf(value: unknown, maxDepth: number): Promise<RawJson> {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    // A value parsed from JSON fails to serialise only by nesting past the stack.
    throw tooDeep(maxDepth);
  }
  try {
    const { kind } = await scanJson(Buffer.from(text), maxDepth);
    return new RawJson(text, kind);
  } catch (error: unknown) {
    throw error instanceof JsonTooDeepError ? tooDeep(maxDepth) : error;
  }
}

function tooDeep(maxDepth: number): DomainError {
  return new DomainError(
    'JSON_TOO_DEEP',
    `input_data is nested deeper than ${maxDepth} levels (MAX_INPUT_DEPTH).`,
    {
      fieldProblems: [{ field: 'input_data', messages: [`nested deeper than ${maxDepth} levels`] }],
    },
  );
}
