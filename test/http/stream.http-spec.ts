import { Deferred } from '@brain-net/runner/testing/scripted-runner';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import {
  ReceivedEvent,
  openEventStream,
  readEventStream,
  readEventStreamUntil,
} from '../support/event-stream';
import { ScriptedSandboxApp, pollUntil, startScriptedSandboxApp } from '../support/sandbox-app';

const CODE = 'print("one"); print("two", file=sys.stderr); print("three")';

/** The output events, as `id stream data`. */
function outputs(events: readonly ReceivedEvent[]): string[] {
  return events
    .filter((event) => event.event === 'output')
    .map((event) => {
      const { stream, data } = event.data as { stream: string; data: string };
      return `${event.id} ${stream} ${data}`;
    });
}

describe('The live stream: event ids and resuming (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;
  let hold: Deferred;

  beforeEach(async () => {
    hold = new Deferred();
    sandbox = await startScriptedSandboxApp();
    sandbox.runner.script(CODE, {
      output: [
        { stream: 'stdout', data: 'one\n' },
        { stream: 'stderr', data: 'two\n' },
        { stream: 'stdout', data: 'three\n' },
      ],
      hold,
      abort: 'outcome',
    });
  });

  afterEach(async () => {
    hold.resolve();
    await sandbox.close();
  });

  /** Starts CODE and waits until all of its output is printed; it then runs until `hold`. */
  async function startPrinting(): Promise<string> {
    const accepted = await sandbox.http.post('/execute').send({ code: CODE }).expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;
    await pollUntil<ExecutionResultDto>(sandbox.http, `/execution/${id}`, (live) =>
      live.output.includes('three'),
    );
    return id;
  }

  it('numbers the output by seq and replays stdout and stderr in the order written', async () => {
    const id = await startPrinting();
    const events = await readEventStreamUntil(`${sandbox.url}/execution/${id}/stream`, (so) =>
      so.some((event) => event.event === 'status'),
    );
    expect(outputs(events)).toEqual(['1 stdout one\n', '2 stderr two\n', '3 stdout three\n']);
    expect(events.at(-1)).toMatchObject({ event: 'status', id: '3' });
  });

  it('resumes after Last-Event-ID with only the rest, live, up to the result', async () => {
    const id = await startPrinting();
    const url = `${sandbox.url}/execution/${id}/stream`;
    const first = await readEventStreamUntil(url, (so) => outputs(so).length === 2);
    expect(outputs(first)).toEqual(['1 stdout one\n', '2 stderr two\n']);

    const resumed = await openEventStream(url, { 'Last-Event-ID': first.at(-1)?.id ?? '' });
    hold.resolve();
    const rest = await resumed.events;

    expect(outputs(rest)).toEqual(['3 stdout three\n']);
    expect(rest.at(-1)).toMatchObject({ event: 'result', id: '3', data: { execution_id: id } });
    const ids = rest.map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('replays everything when Last-Event-ID is not an id it sent', async () => {
    const id = await startPrinting();
    const events = await readEventStreamUntil(
      `${sandbox.url}/execution/${id}/stream`,
      (so) => so.some((event) => event.event === 'status'),
      { 'Last-Event-ID': 'not-a-number' },
    );
    expect(outputs(events)).toHaveLength(3);
  });

  it('after the end, sends a resuming client no output again, only the status and result', async () => {
    const id = await startPrinting();
    hold.resolve();
    await pollUntil<ExecutionResultDto>(
      sandbox.http,
      `/execution/${id}`,
      (done) => done.status === 'completed',
    );
    const url = `${sandbox.url}/execution/${id}/stream`;
    const events = await readEventStream(url, { 'Last-Event-ID': '2' });
    expect(events.map((event) => [event.event, event.id])).toEqual([
      ['status', '2'],
      ['result', '2'],
    ]);
    expect(events.at(-1)?.data).toMatchObject({ output: 'one\nthree\n' });
  });
});
