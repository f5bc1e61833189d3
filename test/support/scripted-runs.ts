import { Deferred, RunScript, ScriptedRunner } from '@brain-net/runner/testing/scripted-runner';

/** A clean run that writes `stdout`. */
function printing(stdout: string): RunScript {
  return { output: [{ stream: 'stdout', data: stdout }] };
}

/**
 * Scripts the code `print("<text>")`, for each text, to write `<text>\n` as Python
 * would: a spec that reads that output back knows which code the runner was given.
 */
export function scriptPrints(runner: ScriptedRunner, ...texts: string[]): void {
  for (const text of texts) runner.script(`print("${text}")`, printing(`${text}\n`));
}

/**
 * A run that writes `stdout`, if given, and then goes on until it is cancelled, when it
 * stops as a killed container does (DockerodeRunner's outcome with stopReason `aborted`).
 */
export function untilCancelled(stdout?: string): RunScript {
  return { ...(stdout ? printing(stdout) : {}), hold: new Deferred(), abort: 'outcome' };
}

/**
 * A clean run that lasts `ms` after its start, as code that sleeps: each run gets a
 * timer of its own when it reaches the hold (a Deferred is one promise for all runs).
 */
export function sleeping(ms: number): RunScript {
  return {
    hold: {
      get promise() {
        return new Promise<void>((resolve) => setTimeout(resolve, ms));
      },
    },
  };
}
