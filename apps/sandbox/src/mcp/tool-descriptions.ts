import type { AppConfig } from '../config/app-config';

const MIB = 1024 * 1024;

/** The settings a model must know to use the tools well; read from the running configuration. */
export type DescribedSettings = Pick<
  AppConfig,
  | 'runtimes'
  | 'limits'
  | 'defaultTimeoutS'
  | 'maxTimeoutS'
  | 'maxOutputBytes'
  | 'maxStdinBytes'
  | 'maxInputDepth'
  | 'files'
>;

/** What each tool and each run_python argument says to the model that reads the tool list. */
export interface ToolDescriptions {
  readonly instructions: string;
  readonly runPython: string;
  readonly runPythonFields: {
    readonly code: string;
    readonly input_data: string;
    readonly stdin: string;
    readonly files: string;
    readonly runtime: string;
    readonly timeout: string;
  };
  readonly getExecution: string;
  readonly listRuntimes: string;
}

/** A size for a model to read: whole MiB where it is, else KiB. */
function sizeOf(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * The tools' descriptions, with the limits this instance enforces: a model plans its code
 * around them (one call holds everything, no network, how long it may run).
 */
export function toolDescriptions(settings: DescribedSettings): ToolDescriptions {
  const { limits, files, runtimes } = settings;
  const defaultRuntime = runtimes.default.name;
  const runtimesPhrase =
    runtimes.all.length === 1
      ? `one runtime, ${defaultRuntime}`
      : `runtimes ${runtimes.all.map((runtime) => runtime.name).join(', ')} (default ${defaultRuntime})`;
  return {
    instructions:
      'Runs Python code in a throwaway sandbox container per call and reports what happened: ' +
      'output, errors with the failing line, variables, figures and files. Each tool says what ' +
      'the sandbox has and its limits.',
    runPython: [
      'Run Python code in a sandbox and get back what happened: stdout, stderr, the error with ' +
        'the line that raised it, the variables left at the end, matplotlib figures as images, ' +
        'and links to the files the code wrote.',
      `Environment: ${runtimesPhrase}. The standard runtime ` +
        'image is Python 3.11 with numpy, pandas, matplotlib, scipy and scikit-learn; ' +
        'list_runtimes gives the exact Python and package versions of each runtime. Nothing ' +
        'can be installed, and there is NO network: no pip install, no downloads, no HTTP.',
      `Limits per call: ${limits.memoryBytes / MIB} MiB of memory, ${limits.cpus} ` +
        `CPU${limits.cpus === 1 ? '' : 's'}, ` +
        `${settings.defaultTimeoutS} s of run time unless \`timeout\` asks for more (at most ` +
        `${settings.maxTimeoutS} s), ${sizeOf(limits.tmpfsBytes)} of disk, and stdout and ` +
        `stderr kept up to ${sizeOf(settings.maxOutputBytes)} each.`,
      'Every call runs in a fresh container that is removed afterwards: nothing carries over ' +
        'between calls (no variables, files or imports), so send everything a run needs in one ' +
        'call.',
      'How to use it: the code runs as main.py in its working directory; print() what you want ' +
        'to read. `input_data` is available as a global dict, `stdin` feeds input(). For a chart, ' +
        'draw it with matplotlib and leave the figure open or call plt.show(): each figure comes ' +
        `back as a PNG image (at most ${files.maxFigures}). Files the code writes under out/ come ` +
        'back as download links. When the code raises, the result is marked as an error and ' +
        'names the failing line.',
    ].join('\n\n'),
    runPythonFields: {
      code: 'Python source, run as main.py. print() what you want to see in the result.',
      input_data:
        'A JSON object the code reads as the global variable `input_data` (nested at most ' +
        `${settings.maxInputDepth} levels).`,
      stdin:
        'Text the code reads on standard input (input(), sys.stdin), at most ' +
        `${sizeOf(settings.maxStdinBytes)}. Without it, input() raises EOFError.`,
      files:
        'Files put in the working directory before the code starts. Each is {path, content} ' +
        "(text; with encoding 'base64' for binary content) or {path, file_id} naming a file " +
        'uploaded earlier with POST /files. `path` is relative, like data/input.csv. At most ' +
        `${files.maxInputFiles} files and ${sizeOf(files.maxInputBytes)} together.`,
      runtime: `The runtime to run in (list_runtimes names them); default ${defaultRuntime}.`,
      timeout:
        `Seconds the code may run, 1 to ${settings.maxTimeoutS}; default ` +
        `${settings.defaultTimeoutS}. A run past it is stopped and reported as timed out.`,
    },
    getExecution:
      'Read an earlier run again by its execution id (every run_python result names it): the ' +
      'same summary, figures and file links. A run that has not finished yet shows its status ' +
      'and the output so far. Only runs of your own tenant can be read; older runs are ' +
      'eventually dropped.',
    listRuntimes:
      'List the runtimes run_python can run in, each with its Python version and installed ' +
      'packages with versions. Check here before relying on a package: nothing can be ' +
      'installed at run time.',
  };
}
