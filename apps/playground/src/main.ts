import {
  Sandbox,
  SandboxError,
  type DebugRecord,
  type ExecuteRequest,
  type Execution,
} from '../../../clients/typescript/src';
import { byId, el } from './dom';
import { CodeEditor } from './editor';
import { draftStore, keyStore } from './key-store';
import { ResultView } from './result-view';

const SAMPLE_CODE = `# input_data is a global; print, raise, or draw with matplotlib
import math

values = input_data.get("values", [1, 2, 3])
total = sum(values)
print(f"sum = {total}, sqrt = {math.sqrt(total):.3f}")
`;
const RECENT_LIMIT = 20;

const runButton = byId('run', HTMLButtonElement);
const cancelButton = byId('cancel', HTMLButtonElement);
const notice = byId('notice', HTMLSpanElement);
const inputData = byId('input-data', HTMLTextAreaElement);
const stdin = byId('stdin', HTMLTextAreaElement);
const fileInput = byId('files', HTMLInputElement);
const profile = byId('profile', HTMLInputElement);
const timeout = byId('timeout', HTMLInputElement);
const runtimeField = byId('runtime-field', HTMLLabelElement);
const runtimePicker = byId('runtime', HTMLSelectElement);
const recentList = byId('recent', HTMLOListElement);
const keyState = byId('key-state', HTMLSpanElement);
const forgetKey = byId('forget-key', HTMLButtonElement);
const keyDialog = byId('key-dialog', HTMLDialogElement);
const keyForm = byId('key-form', HTMLFormElement);
const keyInput = byId('key-input', HTMLInputElement);
const keyProblem = byId('key-problem', HTMLParagraphElement);

/**
 * Where the API is: where this page is, without its own name, so a proxy that serves the
 * service under a path prefix (https://host/sandbox/playground) serves the page's calls too.
 */
const API_BASE_URL = new URL('.', location.href).href;

/** A client with the key as it is now: the key may be set or forgotten at any time. */
function sandbox(): Sandbox {
  return new Sandbox({ baseUrl: API_BASE_URL, apiKey: keyStore.get() ?? undefined });
}

/** Keeps what the person wrote across a reload of the tab. */
function saveDraft(): void {
  draftStore.set({
    code: editor.code,
    inputData: inputData.value,
    stdin: stdin.value,
    timeout: timeout.value,
    profile: profile.checked,
  });
}

const draft = draftStore.get();
const editor = new CodeEditor(
  byId('editor', HTMLDivElement),
  draft?.code ?? SAMPLE_CODE,
  () => void run(),
  saveDraft,
);
const results = new ResultView(sandbox);
inputData.value = draft?.inputData ?? JSON.stringify({ values: [1, 2, 3] });
stdin.value = draft?.stdin ?? '';
timeout.value = draft?.timeout ?? '';
profile.checked = draft?.profile ?? false;
for (const field of [inputData, stdin, timeout, profile])
  field.addEventListener('input', saveDraft);

/** The run in progress, with its id once accepted (Cancel needs it). */
let current: { executionId: string | null } | null = null;

function say(message: string): void {
  notice.textContent = message;
}

/** A failed call as one line; a 401 also asks for a key (again). */
function reportFailure(error: unknown): void {
  if (error instanceof SandboxError) {
    say(`${error.code ?? error.status ?? 'error'}: ${error.message}`);
    if (error.status === 401) askForKey(error.message);
  } else {
    say(String(error));
  }
}

function askForKey(problem?: string): void {
  keyProblem.hidden = !problem;
  keyProblem.textContent = problem ?? '';
  if (!keyDialog.open) keyDialog.showModal();
  keyInput.focus();
}

function showKeyState(): void {
  const hasKey = keyStore.get() !== null;
  keyState.textContent = hasKey ? 'API key set for this tab' : '';
  forgetKey.hidden = !hasKey;
}

/**
 * The request as the form has it, its attachments aside; null (and a notice) when
 * input_data is not a JSON object.
 */
function requestOf(): ExecuteRequest | null {
  let input: unknown = {};
  if (inputData.value.trim() !== '') {
    try {
      input = JSON.parse(inputData.value);
    } catch (error: unknown) {
      say(`input_data is not JSON: ${(error as Error).message}`);
      return null;
    }
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    say('input_data must be a JSON object');
    return null;
  }
  return {
    code: editor.code,
    input_data: input as Record<string, unknown>,
    ...(stdin.value !== '' ? { stdin: stdin.value } : {}),
    ...(runtimePicker.value ? { runtime: runtimePicker.value } : {}),
    // The service checks the range (TIMEOUT_OUT_OF_RANGE names it); empty is its default.
    ...(timeout.value !== '' ? { timeout: Number(timeout.value) } : {}),
    ...(profile.checked ? { profile: true } : {}),
    debug_mode: true,
  };
}

function setRunning(running: boolean): void {
  runButton.disabled = running;
  cancelButton.disabled = !running;
}

async function run(): Promise<void> {
  if (current) return;
  say('');
  // Checked before anything is uploaded or started.
  const request = requestOf();
  if (!request) return;
  editor.markFailingLine(null);
  current = { executionId: null };
  setRunning(true);
  results.clear();
  try {
    const client = sandbox();
    // Attached files go up first; the request names them by file_id, under their own names.
    const files = await Promise.all(
      [...(fileInput.files ?? [])].map(async (file) => ({
        path: file.name,
        file_id: (await client.upload(file, file.name)).file_id,
      })),
    );
    const { execution_id: executionId } = await client.submit(
      files.length > 0 ? { ...request, files } : request,
    );
    current.executionId = executionId;
    results.status(executionId, 'queued');
    let finished: Execution | null = null;
    for await (const event of client.stream(executionId)) {
      if (event.type === 'output') results.append(event.stream, event.data);
      else if (event.type === 'status') results.status(executionId, event.status);
      else finished = event.result;
    }
    if (finished) {
      // The debug record adds the timings and resource use; the result stands without it.
      present(finished, await client.debug(executionId).catch(() => null), true);
    }
  } catch (error: unknown) {
    reportFailure(error);
  } finally {
    current = null;
    setRunning(false);
    void refreshRecent();
  }
}

/** A finished execution in the result view, its failing line marked in the editor. */
function present(result: Execution, record: DebugRecord | null, printed: boolean): void {
  results.show(result, record, printed);
  editor.markFailingLine(result.debug_info.exceptions[0]?.line ?? null);
}

async function cancel(): Promise<void> {
  const executionId = current?.executionId;
  if (!executionId) return;
  cancelButton.disabled = true;
  // The stream carries on to the cancelled result; a run that ended first is no error here.
  await sandbox()
    .cancel(executionId)
    .catch((error: unknown) => {
      if (!(error instanceof SandboxError && error.code === 'EXECUTION_ALREADY_FINISHED')) {
        reportFailure(error);
      }
    });
}

/** Opens a past execution: its code, inputs and result, as if it had just run. */
async function reopen(executionId: string): Promise<void> {
  if (current) return;
  say('');
  try {
    const client = sandbox();
    const [record, result] = await Promise.all([
      client.debug(executionId),
      client.get(executionId),
    ]);
    editor.code = record.code ?? '# the code of this execution was pruned from the store';
    inputData.value = record.input_data ? JSON.stringify(record.input_data, null, 2) : '';
    stdin.value = record.stdin ?? '';
    saveDraft();
    results.clear();
    present(result, record, false);
  } catch (error: unknown) {
    reportFailure(error);
  }
}

async function refreshRecent(): Promise<void> {
  try {
    const page = await sandbox().executions({ limit: RECENT_LIMIT });
    recentList.replaceChildren(
      ...page.items.map((item) => {
        const open = el(
          'button',
          { title: item.error ?? item.execution_id },
          el('span', { className: `badge ${item.status}`, text: item.status }),
          el('span', { text: new Date(item.created_at).toLocaleTimeString() }),
          el('span', { className: 'muted', text: item.execution_id.slice(0, 8) }),
        );
        open.type = 'button';
        open.dataset.executionId = item.execution_id;
        open.addEventListener('click', () => void reopen(item.execution_id));
        return el('li', {}, open);
      }),
    );
  } catch (error: unknown) {
    reportFailure(error);
  }
}

/** The runtimes to pick from, shown only when there is a choice. */
async function loadRuntimes(): Promise<void> {
  const { items: runtimes, default: fallback } = await sandbox().runtimes();
  runtimePicker.replaceChildren(
    ...runtimes.map((runtime) => {
      const python = runtime.python_version ? ` (Python ${runtime.python_version})` : '';
      const option = el('option', { text: `${runtime.name}${python}` });
      option.value = runtime.name;
      option.selected = runtime.name === fallback;
      return option;
    }),
  );
  runtimeField.hidden = runtimes.length < 2;
}

/** What the page needs from the service before the first run; a 401 asks for the key. */
async function start(): Promise<void> {
  showKeyState();
  try {
    await loadRuntimes();
    await refreshRecent();
  } catch (error: unknown) {
    reportFailure(error);
  }
}

runButton.addEventListener('click', () => void run());
cancelButton.addEventListener('click', () => void cancel());
byId('refresh-recent', HTMLButtonElement).addEventListener('click', () => void refreshRecent());
forgetKey.addEventListener('click', () => {
  keyStore.forget();
  showKeyState();
  askForKey();
});
keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  keyStore.set(keyInput.value.trim());
  keyInput.value = '';
  keyDialog.close();
  say('');
  void start();
});

void start();
