import type { ExecutionStatus } from '@brain-net/store';
import type { DomainError } from '../errors/domain-error';
import type {
  ExceptionInfoDto,
  ExecutionResultDto,
  VariableDto,
} from '../execution/dto/execution-result.dto';

/** The most of stdout or of stderr a summary quotes: its start and its end past this. */
export const MAX_QUOTED_STREAM_CHARS = 8_000;
/** Variables a summary shows; the others are counted. */
export const MAX_SHOWN_VARIABLES = 40;
/** The most of a variable's value a summary shows. */
export const MAX_VARIABLE_CHARS = 160;

const STATUS_PHRASES: Record<ExecutionStatus, string> = {
  queued: 'is queued',
  running: 'is running',
  completed: 'completed',
  failed: 'failed',
  timeout: 'timed out',
  cancelled: 'was cancelled',
};

/** A run a model should treat as failed: it raised, exited non-zero, timed out or was cancelled. */
export function isFailedRun(status: ExecutionStatus): boolean {
  return status === 'failed' || status === 'timeout' || status === 'cancelled';
}

/**
 * An execution as a model reads it best: what happened in one line, the error at the
 * line that raised it, the output, the variables left, the figures that follow as images.
 * Long output is quoted by its start and end; the whole is at GET /execution/{id}.
 */
export function executionSummary(result: ExecutionResultDto): string {
  const sections = [
    headline(result),
    failure(result),
    moduleHint(result),
    quoted('stdout', result.output),
    result.stderr === '' ? null : quoted('stderr', result.stderr),
    result.truncated ? 'The output was cut at the sandbox’s output limit.' : null,
    variables(result),
    figures(result),
  ];
  return sections.filter((section) => section !== null).join('\n\n');
}

/**
 * The files the code wrote under out/, each with its absolute download URL (`baseUrl`
 * is where the caller reached the service); null when the run wrote none.
 */
export function outputFileLinks(result: ExecutionResultDto, baseUrl: string): string | null {
  if (result.files.length === 0 && !result.files_truncated) return null;
  const lines = [
    'Files the code wrote under out/ (download them with the same credentials as this call):',
    ...result.files.map(
      (file) =>
        `  out/${file.path} (${byteCount(file.size)}, ${file.media_type}): ${baseUrl}${file.url}`,
    ),
  ];
  if (result.files_truncated) {
    const named = result.files_omitted.map((file) => `out/${file.path} (${byteCount(file.size)})`);
    lines.push(`Left out, over the limits on returned files: ${named.join(', ') || 'some files'}.`);
  }
  return lines.join('\n');
}

/** A refusal as a tool's error text: its problem code first, as the REST API's `code`. */
export function problemText(error: DomainError): string {
  const lines = [`${error.code}: ${error.message}`];
  for (const { field, messages } of error.details.fieldProblems ?? []) {
    lines.push(`  ${field}: ${messages.join('; ')}`);
  }
  if (error.details.retryAfterS !== undefined) {
    lines.push(`Retry after ${error.details.retryAfterS} s.`);
  }
  return lines.join('\n');
}

function headline(result: ExecutionResultDto): string {
  const facts: string[] = [];
  if (result.exit_code !== null) facts.push(`exit code ${result.exit_code}`);
  if (result.execution_time !== null) facts.push(`ran ${seconds(result.execution_time)} s`);
  if (result.start_time !== null) {
    const queuedMs = Date.parse(result.start_time) - Date.parse(result.created_at);
    facts.push(`waited ${seconds(queuedMs / 1000)} s to start`);
  }
  if (result.runtime !== null) facts.push(`runtime ${result.runtime}`);
  const details = facts.length > 0 ? ` (${facts.join(', ')})` : '';
  return `Execution ${result.execution_id} ${STATUS_PHRASES[result.status]}${details}.`;
}

/** The error, the line that raised it and its source, then what it was raised from or during. */
function failure(result: ExecutionResultDto): string | null {
  if (result.error === null) return null;
  const lines = [`Error: ${result.error}`];
  const [first] = result.debug_info.exceptions;
  if (first) {
    const failing = failingLine(first);
    if (failing) lines.push(failing);
    for (let outer = first; outer.cause; outer = outer.cause) {
      const { cause } = outer;
      const relation = outer.cause_relation === 'cause' ? 'Raised from' : 'Raised while handling';
      lines.push(`${relation}: ${cause.type}: ${cause.message}${lineNote(cause)}`);
    }
  }
  return lines.join('\n');
}

function failingLine(exception: ExceptionInfoDto): string | null {
  const { line } = exception;
  if (line === null) return null;
  // Frames run outermost first: the innermost one at that line holds its source.
  const frame = [...exception.frames].reverse().find((candidate) => candidate.line === line);
  const source = frame?.source?.trim();
  return source ? `Failing line ${line}: ${source}` : `Failing line ${line}.`;
}

function lineNote(exception: ExceptionInfoDto): string {
  return exception.line === null ? '' : ` (line ${exception.line})`;
}

function moduleHint(result: ExecutionResultDto): string | null {
  const hint = result.module_hint;
  if (!hint) return null;
  if (hint.runtimes.length > 0) {
    return `The module ${hint.module} is in these runtimes: ${hint.runtimes.join(', ')}; pass one as \`runtime\`.`;
  }
  return `No runtime has the module ${hint.module}, and nothing can be installed: do without it.`;
}

function quoted(stream: 'stdout' | 'stderr', text: string): string {
  if (text === '') return `${stream}: (empty)`;
  return `${stream}:\n${clipped(text.replace(/\n$/, ''), MAX_QUOTED_STREAM_CHARS)}`;
}

/** Its start and its end, with how much was left out between them. */
function clipped(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  const left = text.length - 2 * half;
  return `${text.slice(0, half)}\n[… ${left} characters left out …]\n${text.slice(-half)}`;
}

function variables(result: ExecutionResultDto): string | null {
  const all = result.debug_info.variables_after;
  if (all === null) return null;
  const entries = Object.entries(all);
  if (entries.length === 0) return 'Variables after the run: none.';
  const lines = entries
    .slice(0, MAX_SHOWN_VARIABLES)
    .map(([name, variable]) => `  ${name} ${variableText(variable)}`);
  if (entries.length > MAX_SHOWN_VARIABLES) {
    lines.push(`  … and ${entries.length - MAX_SHOWN_VARIABLES} more`);
  }
  return ['Variables after the run:', ...lines].join('\n');
}

/** `(type) = value` on one line: the JSON value when it has one, else its repr, bounded. */
function variableText(variable: VariableDto): string {
  const shape = variable.preview ? `, shape ${variable.preview.shape.join('×')}` : '';
  const shown =
    variable.value !== undefined ? JSON.stringify(variable.value) : (variable.repr ?? '');
  const oneLine = shown.replace(/\s+/g, ' ').trim();
  const bounded =
    oneLine.length > MAX_VARIABLE_CHARS || variable.truncated
      ? `${oneLine.slice(0, MAX_VARIABLE_CHARS)}…`
      : oneLine;
  return `(${variable.type}${shape}) = ${bounded}`;
}

function figures(result: ExecutionResultDto): string | null {
  if (result.figures.length === 0 && result.figures_omitted === 0) return null;
  const lines = result.figures.map((figure) => {
    const title = figure.title === null ? '' : ` "${figure.title}"`;
    return figure.url === null
      ? `  figure ${figure.index}${title}: no image (${figure.error ?? 'not rendered'})`
      : `  figure ${figure.index}${title}: ${figure.width}×${figure.height} px`;
  });
  if (result.figures_omitted > 0) {
    lines.push(`  ${result.figures_omitted} more figures were over the limit and not rendered`);
  }
  return ['Figures (their images follow this text, in this order):', ...lines].join('\n');
}

function byteCount(size: number): string {
  return size === 1 ? '1 byte' : `${size} bytes`;
}

/** Seconds as a model reads them: at most three decimals. */
function seconds(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
