import { DEMAND_WINDOW_MS, DemandWindow, splitWarmBudget } from './warm-budget';

const IMAGES = ['default', 'minimal', 'gpu'];

/** The shares in the images' order, for short expectations. */
function split(budget: number, demand: Record<string, number>, keys = IMAGES): number[] {
  const shares = splitWarmBudget(budget, keys, new Map(Object.entries(demand)));
  return keys.map((key) => shares.get(key) ?? -1);
}

describe('splitWarmBudget', () => {
  it('gives the whole budget to the first image while no job showed demand', () => {
    expect(split(4, {})).toEqual([4, 0, 0]);
    expect(split(4, { default: 0, minimal: 0 })).toEqual([4, 0, 0]);
  });

  it('gives only images with demand a share, in proportion to their jobs', () => {
    expect(split(4, { minimal: 3 })).toEqual([0, 4, 0]);
    expect(split(6, { default: 20, minimal: 10 })).toEqual([4, 2, 0]);
    expect(split(10, { default: 1, minimal: 1, gpu: 2 })).toEqual([3, 3, 4]);
  });

  it('gives every image with demand at least one while the budget lasts, the most demanded first', () => {
    expect(split(3, { default: 100, minimal: 1, gpu: 1 })).toEqual([1, 1, 1]);
    expect(split(4, { default: 100, minimal: 1, gpu: 1 })).toEqual([2, 1, 1]);
    expect(split(2, { default: 1, minimal: 5, gpu: 3 })).toEqual([0, 1, 1]);
    // Equal demand: the earlier image first.
    expect(split(1, { default: 2, minimal: 2 })).toEqual([1, 0, 0]);
  });

  it('always hands out exactly the budget', () => {
    for (let budget = 0; budget <= 12; budget += 1) {
      const demands: Record<string, number>[] = [
        {},
        { gpu: 7 },
        { default: 1, minimal: 2, gpu: 3 },
        { minimal: 9 },
      ];
      for (const demand of demands) {
        const shares = split(budget, demand);
        expect(shares.reduce((sum, share) => sum + share, 0)).toBe(budget);
        expect(Math.min(...shares)).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('has nothing to split without a budget or without images', () => {
    expect(split(0, { default: 3 })).toEqual([0, 0, 0]);
    expect(splitWarmBudget(3, [], new Map()).size).toBe(0);
  });
});

describe('DemandWindow', () => {
  it('counts each key’s jobs within the window and forgets older ones', () => {
    let now = 1_000_000;
    const window = new DemandWindow(DEMAND_WINDOW_MS, () => now);
    window.record('default');
    now += DEMAND_WINDOW_MS / 2;
    window.record('minimal');
    window.record('minimal');
    expect(window.counts()).toEqual(
      new Map([
        ['default', 1],
        ['minimal', 2],
      ]),
    );
    now += DEMAND_WINDOW_MS / 2 + 1;
    expect(window.counts()).toEqual(new Map([['minimal', 2]]));
    now += DEMAND_WINDOW_MS;
    expect(window.counts()).toEqual(new Map());
  });
});
