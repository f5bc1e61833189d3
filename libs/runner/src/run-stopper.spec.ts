import { RunStopper, stopTakesEffect } from './run-stopper';

describe('stopTakesEffect', () => {
  it('lets the first stop request kill a running container', () => {
    expect(stopTakesEffect('exited', 'timeout', false)).toBe(true);
    expect(stopTakesEffect('exited', 'aborted', false)).toBe(true);
  });

  it('ignores a request once the container was stopped', () => {
    expect(stopTakesEffect('timeout', 'aborted', false)).toBe(false);
    expect(stopTakesEffect('aborted', 'timeout', false)).toBe(false);
    expect(stopTakesEffect('aborted', 'aborted', true)).toBe(false);
  });

  it('ignores a deadline that passes after the exit frame, not a cancel', () => {
    expect(stopTakesEffect('exited', 'timeout', true)).toBe(false);
    expect(stopTakesEffect('exited', 'aborted', true)).toBe(true);
  });
});

describe('RunStopper', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function stopperFor(controller: AbortController, exitFrameSeen = () => false) {
    const kill = jest.fn<void, []>();
    const stopper = new RunStopper(controller.signal, exitFrameSeen, kill);
    return { stopper, kill };
  }

  it('stays exited while nothing stops the run', () => {
    const { stopper, kill } = stopperFor(new AbortController());
    stopper.armDeadline(1_000);
    jest.advanceTimersByTime(999);
    expect(stopper.reason).toBe('exited');
    expect(kill).not.toHaveBeenCalled();
  });

  it('kills the container at its deadline', () => {
    const { stopper, kill } = stopperFor(new AbortController());
    stopper.armDeadline(1_000);
    jest.advanceTimersByTime(1_000);
    expect(stopper.reason).toBe('timeout');
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('kills the container when the caller cancels, and only once', () => {
    const controller = new AbortController();
    const { stopper, kill } = stopperFor(controller);
    stopper.armDeadline(1_000);
    controller.abort();
    jest.advanceTimersByTime(1_000);
    expect(stopper.reason).toBe('aborted');
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('lets the deadline pass once the harness sent its exit frame', () => {
    const { stopper, kill } = stopperFor(new AbortController(), () => true);
    stopper.armDeadline(1_000);
    jest.advanceTimersByTime(1_000);
    expect(stopper.reason).toBe('exited');
    expect(kill).not.toHaveBeenCalled();
  });

  it('no longer times out once its deadline is disarmed', () => {
    const { stopper, kill } = stopperFor(new AbortController());
    stopper.armDeadline(1_000);
    stopper.disarmDeadline();
    jest.advanceTimersByTime(1_000);
    expect(stopper.reason).toBe('exited');
    expect(kill).not.toHaveBeenCalled();
  });

  it('follows neither the deadline nor the signal once disposed', () => {
    const controller = new AbortController();
    const { stopper, kill } = stopperFor(controller);
    stopper.armDeadline(1_000);
    stopper.dispose();
    controller.abort();
    jest.advanceTimersByTime(1_000);
    expect(stopper.reason).toBe('exited');
    expect(kill).not.toHaveBeenCalled();
  });
});
