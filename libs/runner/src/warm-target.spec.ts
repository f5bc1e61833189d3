import {
  ARRIVAL_WINDOW_MS,
  ArrivalRate,
  INITIAL_PREPARE_MS,
  WarmTarget,
  warmTarget,
} from './warm-target';

describe('warmTarget', () => {
  it('keeps one ready plus as many being prepared as jobs arrive while one is, rounded', () => {
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 0, prepareMs: 400 })).toBe(1);
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 2.5, prepareMs: 400 })).toBe(2);
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 3.6, prepareMs: 400 })).toBe(2);
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 3.75, prepareMs: 400 })).toBe(3);
    expect(warmTarget({ budget: 10, arrivalsPerSecond: 5, prepareMs: 1000 })).toBe(6);
  });

  it('keeps one when jobs come further apart than two prepare times', () => {
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 0.1, prepareMs: 400 })).toBe(1);
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 1.2, prepareMs: 400 })).toBe(1);
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 1.25, prepareMs: 400 })).toBe(2);
  });

  it('stays within the budget', () => {
    expect(warmTarget({ budget: 4, arrivalsPerSecond: 50, prepareMs: 400 })).toBe(4);
    expect(warmTarget({ budget: 0, arrivalsPerSecond: 0, prepareMs: 400 })).toBe(0);
  });
});

describe('ArrivalRate', () => {
  it('counts the events of the window, per second', () => {
    let now = 5_000;
    const rate = new ArrivalRate(ARRIVAL_WINDOW_MS, () => now);
    expect(rate.perSecond()).toBe(0);
    for (let i = 0; i < 20; i += 1) rate.record();
    expect(rate.perSecond()).toBe(2);
    now += ARRIVAL_WINDOW_MS / 2;
    rate.record();
    expect(rate.perSecond()).toBeCloseTo(2.1);
    now += ARRIVAL_WINDOW_MS / 2;
    expect(rate.perSecond()).toBeCloseTo(0.1);
    now += ARRIVAL_WINDOW_MS;
    expect(rate.perSecond()).toBe(0);
  });
});

describe('WarmTarget', () => {
  it('is the whole budget until a job arrives', () => {
    const target = new WarmTarget(() => 0);
    target.recordPrepare(5_000);
    expect(target.of(4)).toBe(4);
  });

  it('follows the arrival rate, and falls to one when jobs stop coming', () => {
    let now = 0;
    const target = new WarmTarget(() => now);
    target.recordPrepare(1_000);
    for (let i = 0; i < 30; i += 1) target.recordArrival();
    // 3 jobs a second, 1 s to prepare.
    expect(target.of(10)).toBe(4);
    expect(target.of(3)).toBe(3);
    now += ARRIVAL_WINDOW_MS + 1;
    expect(target.of(10)).toBe(1);
  });

  it('takes prepare times as a moving average, from a guess until one is measured', () => {
    const target = new WarmTarget(() => 0);
    for (let i = 0; i < 25; i += 1) target.recordArrival();
    // 2.5 jobs a second: with the guess of INITIAL_PREPARE_MS, one under way.
    expect(INITIAL_PREPARE_MS).toBe(400);
    expect(target.of(10)).toBe(2);
    target.recordPrepare(1_000); // the first measure replaces the guess: 2.5 under way
    expect(target.of(10)).toBe(4);
    target.recordPrepare(0); // 0.3 × 0 + 0.7 × 1000 = 700 ms: 1.75 under way
    expect(target.of(10)).toBe(3);
  });

  it('counts a container as prepared once its preload is over, and never lowers that on a job that came first', () => {
    const target = new WarmTarget(() => 0);
    for (let i = 0; i < 20; i += 1) target.recordArrival();
    target.recordPrepare(300);
    // 2 jobs a second, 0.3 s to start: 0.6 under way.
    expect(target.of(10)).toBe(2);
    target.recordPreload(1_200, true); // 1.5 s to be ready: 3 under way
    expect(target.of(10)).toBe(4);
    // A job that came 200 ms into a preload says only that it takes longer than that.
    target.recordPreload(200, false);
    expect(target.of(10)).toBe(4);
    target.recordPreload(2_200, false); // 0.3 × 2200 + 0.7 × 1200 = 1500: 3.6 under way
    expect(target.of(10)).toBe(5);
  });
});
