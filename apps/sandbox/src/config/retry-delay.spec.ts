import { retryDelayMs } from './retry-delay';

const policy = { retryBaseMs: 1000, retryMaxMs: 60_000 };
const lowest = () => 0;
const highest = () => 0.999999;

describe('retryDelayMs', () => {
  it('waits between half the base and the base after the first failure', () => {
    expect(retryDelayMs(1, policy, lowest)).toBe(500);
    expect(retryDelayMs(1, policy, highest)).toBe(1000);
    expect(retryDelayMs(1, policy, () => 0.5)).toBe(750);
  });

  it('doubles the ceiling with each further failure', () => {
    const ceilings = [1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, policy, highest));
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('never exceeds retryMaxMs, however many attempts failed', () => {
    expect(retryDelayMs(7, policy, highest)).toBe(60_000);
    expect(retryDelayMs(100, policy, highest)).toBe(60_000);
    expect(retryDelayMs(5000, policy, highest)).toBe(60_000);
    expect(retryDelayMs(5000, policy, lowest)).toBe(30_000);
  });

  it('keeps half of the delay fixed, so jitter never makes a retry immediate', () => {
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const delay = retryDelayMs(attempt, policy);
      const ceiling = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });
});
