import type { components, DebugRecord, Execution } from '../../../clients/typescript/src';
import { byId, bytes, el } from './dom';

type Variable = components['schemas']['VariableDto'];
type Preview = components['schemas']['VariablePreviewDto'];
type ExceptionInfo = components['schemas']['ExceptionInfoDto'];
type Profile = components['schemas']['ProfileDto'];

/** Rows of a profile's lists shown: the slowest functions, the biggest allocations. */
const PROFILE_ROWS = 10;

/** What the result view fetches with the caller's key: an <img> or a link could not send it. */
export interface ResultBytes {
  figure(executionId: string, index: number): Promise<Uint8Array>;
  outputFile(executionId: string, path: string): Promise<Uint8Array>;
}

/** The right-hand side of the page: live output, then everything the finished run reports. */
export class ResultView {
  private readonly summary = byId('summary', HTMLDivElement);
  private readonly output = byId('output', HTMLPreElement);
  private readonly error = byId('error', HTMLDivElement);
  private readonly figuresSection = byId('figures-section', HTMLDivElement);
  private readonly figures = byId('figures', HTMLDivElement);
  private readonly profileSection = byId('profile-section', HTMLDivElement);
  private readonly profile = byId('profile-result', HTMLDivElement);
  private readonly variablesSection = byId('variables-section', HTMLDivElement);
  private readonly variables = byId('variables', HTMLDivElement);
  private readonly filesSection = byId('files-section', HTMLDivElement);
  private readonly files = byId('output-files', HTMLUListElement);
  /** The figures' object URLs, revoked when the next result replaces them. */
  private objectUrls: string[] = [];

  constructor(private readonly fetchBytes: () => ResultBytes) {}

  /** Empties every part, for a new run. */
  clear(message = 'Starting…'): void {
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls = [];
    this.summary.replaceChildren(el('span', { className: 'muted', text: message }));
    this.output.replaceChildren();
    this.error.hidden = true;
    this.error.replaceChildren();
    const sections = [
      this.figuresSection,
      this.profileSection,
      this.variablesSection,
      this.filesSection,
    ];
    for (const section of sections) section.hidden = true;
    this.figures.replaceChildren();
    this.profile.replaceChildren();
    this.variables.replaceChildren();
    this.files.replaceChildren();
  }

  /** The run's status as it goes, before its result. */
  status(executionId: string, status: string): void {
    this.summary.replaceChildren(
      badge(status),
      el('span', { className: 'muted', text: executionId }),
    );
  }

  /** A chunk the code printed, as it came. */
  append(stream: 'stdout' | 'stderr', text: string): void {
    this.output.append(stream === 'stderr' ? el('span', { className: 'stderr', text }) : text);
    this.output.scrollTop = this.output.scrollHeight;
  }

  /**
   * The finished run. `printed` keeps the output as it streamed (stdout and stderr in the
   * order they came); a reopened execution shows the stored stdout, then stderr.
   */
  show(result: Execution, record: DebugRecord | null, printed: boolean): void {
    this.summary.replaceChildren(...summaryOf(result, record));
    if (!printed) {
      this.output.replaceChildren(result.output);
      if (result.stderr) this.append('stderr', result.stderr);
    }
    if (result.truncated) this.append('stderr', '\n[output cut at MAX_OUTPUT_BYTES]\n');
    this.showError(result);
    this.showProfile(result.debug_info.profile);
    this.showVariables(result.debug_info.variables_after);
    this.showFigures(result);
    this.showFiles(result);
  }

  private showError(result: Execution): void {
    const exceptions = result.debug_info.exceptions;
    if (!result.error && exceptions.length === 0) return;
    this.error.hidden = false;
    const first = exceptions[0];
    this.error.append(
      el('strong', { text: first ? `${first.type}: ${first.message}` : (result.error ?? '') }),
    );
    if (first?.line != null) this.error.append(el('span', { text: ` (line ${first.line})` }));
    for (const exception of exceptions)
      this.error.append(el('pre', { text: tracebackOf(exception) }));
    if (result.module_hint) {
      const { module, runtimes } = result.module_hint;
      this.error.append(
        el('p', {
          text: runtimes.length
            ? `${module} is in the runtime ${runtimes.join(', ')}: pick it above.`
            : `No runtime of this service has ${module}.`,
        }),
      );
    }
  }

  /** The functions that took the time, the lines that held the memory, the slow imports. */
  private showProfile(profile: Profile | null): void {
    if (!profile) return;
    this.profileSection.hidden = false;
    if (profile.error) this.profile.append(el('p', { className: 'muted', text: profile.error }));
    this.profile.append(
      el('p', { text: `Peak traced memory ${bytes(profile.peak_traced_bytes)}` }),
      table(
        'functions',
        ['Function', 'Where', 'Calls', 'Self ms', 'Total ms'],
        profile.functions
          .slice(0, PROFILE_ROWS)
          .map((fn) => [
            fn.function,
            `${fn.file}:${fn.line ?? '?'}`,
            String(fn.calls),
            String(round(fn.self_ms)),
            String(round(fn.cumulative_ms)),
          ]),
      ),
      table(
        'allocations',
        ['Line', 'Source', 'Bytes held'],
        profile.allocations
          .slice(0, PROFILE_ROWS)
          .map((site) => [
            `${site.file}:${site.line ?? '?'}`,
            site.source ?? '',
            bytes(site.bytes),
          ]),
      ),
      table(
        'imports',
        ['Import', 'ms'],
        profile.imports
          .slice(0, PROFILE_ROWS)
          .map((entry) => [entry.module, String(round(entry.ms))]),
      ),
    );
  }

  private showVariables(variables: Record<string, Variable> | null): void {
    const entries = Object.entries(variables ?? {});
    if (entries.length === 0) return;
    this.variablesSection.hidden = false;
    const rows = entries.map(([name, variable]) =>
      el(
        'tr',
        {},
        el('td', { text: name }),
        el('td', { text: variable.type }),
        // A preview shows the data as a table: the repr beside it would say it twice.
        el(
          'td',
          { className: 'value' },
          ...(variable.preview ? previewOf(variable.preview) : [valueOf(variable)]),
        ),
      ),
    );
    this.variables.append(
      el(
        'table',
        { className: 'variables' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { text: 'Name' }),
            el('th', { text: 'Type' }),
            el('th', { text: 'Value' }),
          ),
        ),
        el('tbody', {}, ...rows),
      ),
    );
  }

  private showFigures(result: Execution): void {
    if (result.figures.length === 0) return;
    this.figuresSection.hidden = false;
    for (const figure of result.figures) {
      const caption = el('figcaption', {
        text:
          figure.error ??
          `${figure.title ?? `Figure ${figure.index + 1}`} (${figure.width}×${figure.height})`,
      });
      const holder = el('figure', {}, caption);
      this.figures.append(holder);
      if (figure.url === null) continue;
      this.fetchBytes()
        .figure(result.execution_id, figure.index)
        .then((png) => {
          const url = URL.createObjectURL(new Blob([new Uint8Array(png)], { type: 'image/png' }));
          this.objectUrls.push(url);
          const image = el('img');
          image.src = url;
          image.alt = figure.title ?? `Figure ${figure.index + 1}`;
          holder.prepend(image);
        })
        .catch((error: unknown) => caption.append(` — could not load: ${String(error)}`));
    }
    if (result.figures_omitted > 0) {
      this.figures.append(
        el('p', { className: 'muted', text: `${result.figures_omitted} more figures left out` }),
      );
    }
  }

  private showFiles(result: Execution): void {
    if (result.files.length === 0 && result.files_omitted.length === 0) return;
    this.filesSection.hidden = false;
    for (const file of result.files) {
      const link = el('button', { className: 'link', text: `${file.path} (${bytes(file.size)})` });
      link.type = 'button';
      link.addEventListener(
        'click',
        () => void this.download(result.execution_id, file.path, link),
      );
      this.files.append(el('li', {}, link));
    }
    for (const file of result.files_omitted) {
      this.files.append(
        el('li', { className: 'muted', text: `${file.path} (${bytes(file.size)}): left out` }),
      );
    }
  }

  /** Fetches the file with the key, then hands it to the browser as a download. */
  private async download(
    executionId: string,
    path: string,
    button: HTMLButtonElement,
  ): Promise<void> {
    button.disabled = true;
    try {
      const content = await this.fetchBytes().outputFile(executionId, path);
      // octet-stream: the browser saves it, never renders what the code wrote.
      const url = URL.createObjectURL(
        new Blob([new Uint8Array(content)], { type: 'application/octet-stream' }),
      );
      const anchor = el('a');
      anchor.href = url;
      anchor.download = path.split('/').pop() ?? 'file';
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error: unknown) {
      button.after(
        el('span', { className: 'error-text', text: ` could not download: ${String(error)}` }),
      );
    } finally {
      button.disabled = false;
    }
  }
}

/** A table with a header row; empty rows make no table. */
function table(className: string, headers: string[], rows: string[][]): HTMLElement | string {
  if (rows.length === 0) return '';
  return el(
    'table',
    { className },
    el('thead', {}, el('tr', {}, ...headers.map((text) => el('th', { text })))),
    el('tbody', {}, ...rows.map((row) => el('tr', {}, ...row.map((text) => el('td', { text }))))),
  );
}

function badge(status: string): HTMLElement {
  return el('span', { className: `badge ${status}`, text: status });
}

function summaryOf(result: Execution, record: DebugRecord | null): HTMLElement[] {
  const parts = [badge(result.status), el('span', { text: `exit ${result.exit_code ?? '–'}` })];
  const timings = record?.timings_ms;
  if (timings) {
    const code = timings.code_ms === null ? '' : `, code ${round(timings.code_ms)} ms`;
    parts.push(
      el('span', {
        className: 'timings',
        text: `${timings.total_ms} ms total: queued ${timings.queued_ms}, container start ${timings.container_start_ms}, run ${timings.run_ms}${code}`,
      }),
    );
  } else if (result.execution_time !== null) {
    parts.push(el('span', { text: `${Math.round(result.execution_time * 1000)} ms` }));
  }
  const usage = record?.resource_usage;
  if (usage) {
    parts.push(
      el('span', {
        className: 'resources',
        text: `peak memory ${bytes(usage.peak_memory_bytes)}, CPU ${round(usage.cpu_time_ms)} ms`,
      }),
    );
  }
  if (result.runtime) parts.push(el('span', { className: 'muted', text: result.runtime }));
  parts.push(el('span', { className: 'muted', text: result.execution_id }));
  return parts;
}

function tracebackOf(exception: ExceptionInfo): string {
  const lines = exception.frames.map(
    (frame) =>
      `${frame.file}:${frame.line ?? '?'} in ${frame.function}${frame.source ? `\n    ${frame.source}` : ''}`,
  );
  if (exception.frames_omitted > 0)
    lines.splice(10, 0, `… ${exception.frames_omitted} frames left out`);
  const cause = exception.cause
    ? `\n\n${exception.cause_relation === 'cause' ? 'Raised from' : 'During the handling of'}:\n${tracebackOf(exception.cause)}`
    : '';
  return `${lines.join('\n')}\n${exception.type}: ${exception.message}${cause}`;
}

function valueOf(variable: Variable): string {
  const shown = 'value' in variable ? JSON.stringify(variable.value) : (variable.repr ?? '');
  return variable.truncated ? `${shown} …` : shown;
}

/** A DataFrame as a table of its first rows, a Series or array as its first values. */
function previewOf(preview: Preview): HTMLElement[] {
  const shape = el('div', {
    className: 'muted',
    text: `${preview.kind} of shape ${preview.shape.join(' × ')}`,
  });
  if (preview.kind === 'dataframe') {
    const columns = preview.columns ?? [];
    const header = el(
      'tr',
      {},
      el('th'),
      ...columns.map((column) => el('th', { text: column.name, title: column.dtype })),
    );
    const rows = (preview.rows ?? []).map((row, index) =>
      el(
        'tr',
        {},
        el('th', { text: cell(preview.index?.[index]) }),
        ...row.map((value) => el('td', { text: cell(value) })),
      ),
    );
    const more = [
      preview.rows_omitted ? `${preview.rows_omitted} more rows` : '',
      preview.columns_omitted ? `${preview.columns_omitted} more columns` : '',
    ].filter(Boolean);
    return [
      shape,
      el(
        'table',
        { className: 'preview dataframe' },
        el('thead', {}, header),
        el('tbody', {}, ...rows),
      ),
      ...(more.length ? [el('div', { className: 'muted', text: more.join(', ') })] : []),
    ];
  }
  const values = (preview.values ?? []).map(cell).join(', ');
  const omitted = preview.values_omitted ? `, … ${preview.values_omitted} more` : '';
  return [
    shape,
    el('div', { className: 'preview', text: `[${values}${omitted}] ${preview.dtype ?? ''}` }),
  ];
}

/** Milliseconds to one decimal: the harness measures them to the nanosecond. */
function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function cell(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}
